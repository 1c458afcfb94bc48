"""SQLite inserts: many small native allocations (SQLite's statement, row
and page buffers), made by a C library, not by Python's allocators."""

import sqlite3


@profile  # noqa: F821
def inserts(con, n):
    for i in range(n):
        con.execute("insert into t values (?, ?)", (i, "row %d" % i))
    con.commit()


def run(n):
    con = sqlite3.connect(":memory:")
    con.execute("create table t (k integer primary key, v text)")
    inserts(con, n)
    con.close()
