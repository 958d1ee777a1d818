"""Data quality: the Great Expectations gate between the ATS and staging (`gate`), with its
rules in one place (`suites`)."""
