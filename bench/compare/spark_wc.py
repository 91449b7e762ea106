"""The word count of bench/compare in Spark: pyspark, local[2], reading the files over hdfs://
from the stack's HDFS. Run by the venv's python (see ./run); prints one JSON object:
{"import_s", "session_s": SparkSession ready (JVM, SparkContext), "jobs": [{"path", "first_s",
"repeat_s", "top"}]}, times in seconds from this process's start.

    spark_wc.py HDFS_URI TOP PATH...

The tokenisation is the service's rule (services/analytics/README.md), in Spark SQL's own
functions so that no Python worker runs: runs of [A-Za-z0-9'], apostrophes trimmed at both
ends, lower case, empty words dropped; ranked by count, then word."""
import json
import sys
import time

T0 = time.monotonic()
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

IMPORTED = time.monotonic()


def count(spark, url, top):
    words = (spark.read.text(url)
             .select(F.explode(F.regexp_extract_all("value", F.lit(r"([A-Za-z0-9']+)"), F.lit(1)))
                     .alias("w"))
             .select(F.lower(F.regexp_replace("w", r"^'+|'+$", "")).alias("w"))
             .where(F.col("w") != ""))
    rows = (words.groupBy("w").count()
            .orderBy(F.col("count").desc(), F.col("w").asc()).limit(top).collect())
    return [(r["w"], r["count"]) for r in rows]


def main():
    uri, top, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    spark = (SparkSession.builder.master("local[2]").appName("gridgate-bench-wordcount")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.memory", "1g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    ready = time.monotonic()
    jobs = []
    for p in paths:
        t = time.monotonic()
        first = count(spark, uri + p, top)
        t1 = time.monotonic()
        again = count(spark, uri + p, top)
        t2 = time.monotonic()
        jobs.append({"path": p, "first_s": round(t1 - t, 3), "repeat_s": round(t2 - t1, 3),
                     "top": first, "same_again": first == again})
    spark.stop()
    print(json.dumps({"import_s": round(IMPORTED - T0, 3), "session_s": round(ready - T0, 3),
                      "jobs": jobs}))


if __name__ == "__main__":
    main()
