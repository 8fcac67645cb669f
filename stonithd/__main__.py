import sys

from stonithd.daemon import main

sys.exit(main())
