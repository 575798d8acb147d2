"""``from trainbar.transformers import ...``: the public home of trainbar's Transformers integration.

The code is in ``trainbar.integrations.transformers``. Importing either imports Transformers; nothing else in
trainbar does.
"""

from .integrations.transformers import *  # noqa: F403
from .integrations.transformers import __all__  # noqa: F401
