from meadow.manage import main

main()
