"""``from trainbar.lightning import ...``: the public home of trainbar's Lightning integration.

The code is in ``trainbar.integrations.lightning``. Importing either imports Lightning; nothing else in
trainbar does.
"""

from .integrations.lightning import *  # noqa: F403
from .integrations.lightning import __all__  # noqa: F401
