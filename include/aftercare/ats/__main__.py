"""``python -m aftercare.ats doctor``: see `aftercare.ats.doctor`."""

import sys

from aftercare.ats.doctor import main

sys.exit(main())
