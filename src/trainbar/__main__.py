from trainbar.cli import main

raise SystemExit(main())
