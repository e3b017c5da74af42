#ifndef STREAMDB_SQLITE_H
#define STREAMDB_SQLITE_H

/// Turns SQLite's memory statistics off for this process, before its first connection opens.
/// Returns SQLite's result code (SQLITE_MISUSE once SQLite is initialised: then nothing changed).
int streamdb_sqlite_disable_memstatus(void);

#endif
