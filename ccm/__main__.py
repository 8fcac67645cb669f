import sys

from ccm.daemon import main

sys.exit(main())
