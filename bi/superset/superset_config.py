# Superset configuration for the BI copy of the warehouse. bi/superset/connect.py copies this file to
# <data dir>/superset/superset_config.py (SUPERSET_CONFIG_PATH) on every run: edit it here, not there.
# Everything that is secret or machine-specific lives beside the copy in <data dir>/superset/, never in git.
import copy
import os
import sys
from pathlib import Path

_HOME = Path(__file__).resolve().parent

# SUPERSET_SECRET_KEY wins; otherwise the key connect.py generated once into <data dir>/superset/secret_key.
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY") or (_HOME / "secret_key").read_text().strip()

# Superset's own metadata (users, the registered database, charts, dashboards): one SQLite file.
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}"
DATA_DIR = str(_HOME)
UPLOAD_FOLDER = str(_HOME / "uploads") + "/"

LOG_LEVEL = os.environ.get("SUPERSET_LOG_LEVEL", "WARNING")

# Local, single-user setup: the rate limiter keeps its counters in memory (no warning about it).
RATELIMIT_STORAGE_URI = "memory://"

# No uploads into, and no DML against, analytics databases (the BI copy is opened read-only anyway).
PREVENT_UNSAFE_DB_CONNECTIONS = True

# Telemetry off. The backend sends nothing; the published frontend embeds a Scarf tracking pixel in its menu, so
# the Content-Security-Policy no longer allows images from scarf.sh (the browser blocks the pixel).
_defaults = sys.modules.get("superset.config")
for _name in ("TALISMAN_CONFIG", "TALISMAN_DEV_CONFIG"):
    _conf = copy.deepcopy(getattr(_defaults, _name, None) or {})
    _csp = _conf.get("content_security_policy") or {}
    for _directive, _sources in _csp.items():
        if isinstance(_sources, list):
            _csp[_directive] = [s for s in _sources if "scarf.sh" not in s]
    globals()[_name] = _conf
