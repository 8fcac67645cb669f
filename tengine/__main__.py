import sys

from tengine.daemon import main

sys.exit(main())
