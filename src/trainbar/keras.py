"""``from trainbar.keras import ...``: the public home of trainbar's Keras integration.

The code is in ``trainbar.integrations.keras``. Importing either imports Keras; nothing else in
trainbar does.
"""

from .integrations.keras import *  # noqa: F403
from .integrations.keras import __all__  # noqa: F401
