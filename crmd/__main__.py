import sys

from crmd.daemon import main

sys.exit(main())
