import sys

from messaging.daemon import main

sys.exit(main())
