"""The syllabus' models, built only from ``dg.nn``."""
from .lenet import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403
