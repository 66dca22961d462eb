import ProgimageServer

WorkerMain.run()
