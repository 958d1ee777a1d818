"""The hostname a worker's tasks report to Airflow, for Airflow's ``[core] hostname_callable``.

The api-server fetches a finished task's log from ``http://<hostname>:<worker log server
port>/log/...``, the hostname being what the task reported. Workers on hosts of their own report
their names (Airflow's default, the FQDN). The local cluster (`make cluster`) runs two workers
on one machine: each gets an address of its own on the loopback network in ``AFTERCARE_HOSTNAME``
and its log server listens there, so that the api-server reaches each worker's logs.
"""

from __future__ import annotations

import os

HOSTNAME_ENV = "AFTERCARE_HOSTNAME"


def hostname() -> str:
    """``AFTERCARE_HOSTNAME``: set for the processes that name this callable."""
    return os.environ[HOSTNAME_ENV]
