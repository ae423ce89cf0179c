from pmlkg.cli import main

main()
