"""The sandbox ATS: the subset of Bullhorn's REST API that aftercare uses, over an invented,
seeded world that changes a day at a time. The contract is docs/sandbox-ats.md.

Modules: ``settings`` (what can be configured), ``store`` (schemas, column tables, keyset
indexes), ``countries`` (Bullhorn's Country table), ``generator`` (the invented records),
``corporation`` (a real corporation's shapes, as served), ``world`` (the clock, daily changes,
writes), ``query`` (fields, where, Lucene, ordering), ``meta`` (Bullhorn's meta call),
``service`` (OAuth, sessions, rate limit, faults) and ``api`` (the FastAPI routers).
"""

from sandbox.ats.api import ADMIN_PREFIX, ATS_PREFIX, install
from sandbox.ats.settings import AtsFaults, AtsSandboxSettings

__all__ = ["ADMIN_PREFIX", "ATS_PREFIX", "AtsFaults", "AtsSandboxSettings", "install"]
