"""The candidates' preferences service (issue 21; docs/preferences.md): a web app of its own,
apart from Airflow, that candidates reach from the internet. It answers the signed unsubscribe
and referral links of every message, serves the video channel's personalised pages (registered
by dispatch), records each opt-out, referral click and video page event durably in its own
store (`store`) before it answers, and serves them as a feed the engagement stage loads into the
warehouse (`aftercare.engagement.loads.load_preferences`).

    python -m aftercare.preferences serve [--host 0.0.0.0] [--port 8090]

It imports nothing of Airflow: settings from the config file, secrets from the environment
(`app.SECRET_ENV`, `app.FEED_TOKEN_ENV`).
"""
