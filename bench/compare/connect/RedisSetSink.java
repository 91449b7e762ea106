package gridgate.bench;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * A last-write-wins Redis sink: for every record, SET (prefix + key) to the value, one
 * pipeline per batch that Connect hands over. This is what the key/value Redis sink connectors
 * do with string records (SET or MSET of the record's key and value; no ordering by the
 * reading's own time), written here because the registry reachable from this project serves
 * none of them. Settings: redis.host, redis.port, redis.prefix. It also counts the records it
 * wrote in prefix + "__applied", for the benchmark to follow.
 */
public final class RedisSetSink extends SinkConnector {
    private Map<String, String> props;

    @Override
    public void start(Map<String, String> p) {
        props = p;
    }

    @Override
    public Class<? extends Task> taskClass() {
        return SetTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return java.util.Collections.nCopies(maxTasks, props);
    }

    @Override
    public void stop() {}

    @Override
    public ConfigDef config() {
        return new ConfigDef()
                .define("redis.host", ConfigDef.Type.STRING, "127.0.0.1", ConfigDef.Importance.HIGH, "host")
                .define("redis.port", ConfigDef.Type.INT, 6379, ConfigDef.Importance.HIGH, "port")
                .define("redis.prefix", ConfigDef.Type.STRING, "", ConfigDef.Importance.LOW, "key prefix");
    }

    @Override
    public String version() {
        return "1";
    }

    /** One connection per task; each put() is one pipeline of SETs, synced before it returns. */
    public static final class SetTask extends SinkTask {
        private Jedis jedis;
        private String prefix;

        @Override
        public void start(Map<String, String> p) {
            jedis = new Jedis(p.getOrDefault("redis.host", "127.0.0.1"),
                    Integer.parseInt(p.getOrDefault("redis.port", "6379")));
            prefix = p.getOrDefault("redis.prefix", "");
        }

        @Override
        public void put(Collection<SinkRecord> records) {
            if (records.isEmpty())
                return;
            Pipeline pipe = jedis.pipelined();
            for (SinkRecord r : records)
                pipe.set(prefix + r.key(), String.valueOf(r.value()));
            // Progress for the benchmark (one command per batch): Redis alone cannot tell how
            // many of the SETs have landed, since most overwrite a key.
            pipe.incrBy(prefix + "__applied", records.size());
            pipe.sync();
        }

        @Override
        public void stop() {
            if (jedis != null)
                jedis.close();
        }

        @Override
        public String version() {
            return "1";
        }
    }
}
