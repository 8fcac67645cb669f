"""The CIB (cluster information base) model shared by crmd, pengine, tengine and the CLIs."""
