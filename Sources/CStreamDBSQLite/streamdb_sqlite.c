#include <sqlite3.h>
#include "streamdb_sqlite.h"

// sqlite3_config is variadic, which Swift cannot call.
int streamdb_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
