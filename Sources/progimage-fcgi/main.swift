WorkerCommand.start()
