import StreamDB
