"""The sandbox: the outside services' HTTP APIs (ATS, SMS, email, video, reviews), served on
localhost for the demo and the tests.

Each service speaks the real provider's API contract; business code reaches it only through the
same Airflow connections it would use in production (nothing in ``aftercare`` imports this
package). Everything the sandbox invents derives from its
settings and one seed, so a seed replays the same world. Services: the ATS (Bullhorn's REST API,
docs/sandbox-ats.md); Twilio, SendGrid, Sendspark, Trustpilot and an SMTP sink, with one
clock, shared faults and admin endpoints (docs/sandbox-providers.md).

    python -m sandbox serve --port 8765 --smtp-port 8025 --seed 42 --placements 10000
"""

from sandbox.app import SandboxSettings, create_app
from sandbox.server import DEFAULT_PORT, SandboxServer

__all__ = ["DEFAULT_PORT", "SandboxServer", "SandboxSettings", "create_app"]
