import sys

from pengine.daemon import main

sys.exit(main())
