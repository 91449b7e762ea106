/*
 * One-process HDFS for the local test stack: Hadoop's MiniDFSCluster (one NameNode, one
 * DataNode) with WebHDFS, everything bound to 127.0.0.1 on the ports given.
 *
 *   java -cp 'LIBS/*:CLASSES' MiniHdfs --dir DIR --nn-port P --http-port P
 *        --dn-port P --dn-http-port P --dn-ipc-port P
 *
 * Prints "MiniHdfs ready" once both nodes are up, runs until TERM/INT, then shuts the cluster
 * down. Permissions are off: it is a test stack, callers pass any user.name.
 */
import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

public final class MiniHdfs {
  private MiniHdfs() {}

  private static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value, got " + args[i]);
      }
      m.put(args[i].substring(2), args[i + 1]);
    }
    for (String k : new String[] {"dir", "nn-port", "http-port", "dn-port", "dn-http-port",
                                  "dn-ipc-port"}) {
      if (!m.containsKey(k)) {
        throw new IllegalArgumentException("missing --" + k);
      }
    }
    return m;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = parse(args);
    File dir = new File(a.get("dir")).getAbsoluteFile();
    int dnPort = Integer.parseInt(a.get("dn-port"));
    int dnHttp = Integer.parseInt(a.get("dn-http-port"));
    int dnIpc = Integer.parseInt(a.get("dn-ipc-port"));

    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir, "dfs").getPath());
    conf.set("hadoop.tmp.dir", new File(dir, "tmp").getPath());
    conf.set("dfs.permissions.enabled", "false");
    conf.set("dfs.replication", "1");
    // WebHDFS OPEN/CREATE redirect to the DataNode by the name it registered with: make it the
    // loopback address, not the machine's host name, so that clients here can follow it.
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.set("dfs.datanode.address", "127.0.0.1:" + dnPort);
    conf.set("dfs.datanode.http.address", "127.0.0.1:" + dnHttp);
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:" + dnIpc);
    conf.set("dfs.namenode.http-address", "127.0.0.1:" + a.get("http-port"));
    // Small files, quick heartbeats: a test stack, not a cluster.
    conf.set("dfs.heartbeat.interval", "1");
    conf.set("dfs.namenode.safemode.extension", "0");

    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
                                 .nameNodePort(Integer.parseInt(a.get("nn-port")))
                                 .nameNodeHttpPort(Integer.parseInt(a.get("http-port")))
                                 .numDataNodes(1)
                                 .checkDataNodeAddrConfig(true)
                                 .checkDataNodeHostConfig(true)
                                 .format(true)
                                 .build();
    cluster.waitActive();

    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("MiniHdfs stopping");
      cluster.shutdown();
      stop.countDown();
    }));
    System.out.println("MiniHdfs ready: hdfs://127.0.0.1:" + cluster.getNameNodePort()
                       + " http://127.0.0.1:" + cluster.getNameNode().getHttpAddress().getPort());
    System.out.flush();
    stop.await();
  }
}
