"""The sandbox: the outside services' HTTP APIs (ATS, SMS, email, video, reviews), served on
localhost for the demo and the tests.

Each service speaks the real provider's API contract (see shared/reference/external-apis.md) and
is added by the issue that builds its client; business code reaches it only through the same
Airflow connections it would use in production. Everything the sandbox invents comes from one
seeded random generator, so a seed replays the same world.

    python -m aftercare.sandbox serve --port 8765 --seed 42
"""

from aftercare.sandbox.app import create_app
from aftercare.sandbox.server import SandboxServer

__all__ = ["SandboxServer", "create_app"]
