import sys

from logd.daemon import main

sys.exit(main())
