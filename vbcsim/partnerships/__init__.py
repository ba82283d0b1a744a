from vbcsim.partnerships._all import *  # noqa: F401,F403
from vbcsim.partnerships._all import _build, _check_population, _model_class, expected_pmpm  # noqa: F401
