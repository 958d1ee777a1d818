"""The bodies of the DAGs' tasks, one module per DAG: the seam between Airflow and the stages.

Every body has one shape:

* it takes, as keyword arguments, the run's values it needs (run id, the moment the run works
  for, its params as typed values) and the upstream tasks' results, never Airflow's context:
  the DAG file reads them from the context (`aftercare.dagkit.run_moment` for the moment);
* it loads the config and opens what the stage works on through `aftercare.connections` (the
  warehouse's engine, disposed of when the body returns; the ATS client);
* it calls one stage and returns the stage's counts for the run summary (ids and counts only);
* it steers its task with Airflow's exceptions only where a stage's outcome means skip or fail
  without retries.

Imported by the DAG files at parse time, so the stages and other heavy modules (SQLAlchemy,
the ATS client, phonenumbers) are imported inside the bodies, which only run in tasks.
"""
