from mcc.cli import main

main()
