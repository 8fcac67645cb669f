import sys

from lrmd.daemon import main

sys.exit(main())
