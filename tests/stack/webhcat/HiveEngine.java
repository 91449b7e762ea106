/*
 * The query engine of the WebHCat stand-in: Apache Hive in embedded mode (the Driver of the
 * hive command line, an embedded metastore on Derby, MapReduce in local mode), kept running so
 * that a job does not pay for a JVM start.
 *
 *   java -cp 'LIBS/*:CLASSES' HiveEngine --set NAME=VALUE ...
 *
 * It speaks a line protocol on stdin/stdout with the stand-in (webhcat/engine.py); free text is
 * base64 (UTF-8) so that it never breaks a line. Everything else the JVM prints (Hive's logs,
 * stray System.out) goes to stderr.
 *
 *   <- READY                             once the metastore answers
 *   -> BEGIN <jobid> <b64 user>          a new job: a fresh session, as a new `hive` process has
 *   -> CONF <b64 name> <b64 value>       --hiveconf / define for this job (before its first EXEC)
 *   -> VAR <b64 name> <b64 value>        --hivevar for this job
 *   -> EXEC <b64 statement>              run one statement
 *   <- LOG <b64 line>                    a line of the job's stderr (console of the hive CLI)
 *   <- ROW <b64 line>                    a line of the job's stdout (result rows, tab-separated)
 *   <- DONE <code>                       the statement ended; 0 is success, else Hive's code
 *   -> END                               close the job's session
 *   <- ENDED
 *
 * Jobs run one at a time. A job is killed by killing this process: the stand-in starts a new one.
 */
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hive.common.io.SessionStream;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.IDriver;
import org.apache.hadoop.hive.ql.processors.CommandProcessor;
import org.apache.hadoop.hive.ql.processors.CommandProcessorException;
import org.apache.hadoop.hive.ql.processors.CommandProcessorFactory;
import org.apache.hadoop.hive.ql.session.SessionState;
import org.apache.hadoop.security.UserGroupInformation;

public final class HiveEngine {
  private final PrintStream proto;
  private final HiveConf base;

  private String jobId;
  private UserGroupInformation ugi;
  private HiveConf jobConf;
  private final Map<String, String> jobVars = new LinkedHashMap<>();
  private SessionState session;

  private HiveEngine(PrintStream proto, HiveConf base) {
    this.proto = proto;
    this.base = base;
  }

  // --- protocol ---------------------------------------------------------------------------

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String unb64(String s) {
    return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
  }

  private void send(String kind, String text) {
    synchronized (proto) {
      proto.print(kind);
      if (text != null) {
        proto.print(' ');
        proto.print(text);
      }
      proto.print('\n');
      proto.flush();
    }
  }

  private void log(String line) {
    send("LOG", b64(line));
  }

  /* Turns what Hive prints on a session stream into LOG or ROW messages, one per line.
   * MapReduce's local runner prints progress from its own threads, hence the lock. */
  private final class LineForwarder extends OutputStream {
    private final String kind;
    private final java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();

    LineForwarder(String kind) {
      this.kind = kind;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        emit();
      } else {
        buf.write(b);
      }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      for (int i = off; i < off + len; i++) {
        write(b[i]);
      }
    }

    @Override
    public synchronized void flush() {}

    synchronized void finish() {
      if (buf.size() > 0) {
        emit();
      }
    }

    private void emit() {
      String line = new String(buf.toByteArray(), StandardCharsets.UTF_8);
      buf.reset();
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      send(kind, b64(line));
    }
  }

  private LineForwarder errFwd;
  private LineForwarder outFwd;

  // --- jobs -------------------------------------------------------------------------------

  private void begin(String id, String user) {
    end();
    jobId = id;
    ugi = UserGroupInformation.createRemoteUser(user);
    jobConf = new HiveConf(base);
    jobVars.clear();
  }

  /* Starts the job's session on its first statement, after its CONF and VAR lines. */
  private void ensureSession() throws Exception {
    if (session != null) {
      return;
    }
    errFwd = new LineForwarder("LOG");
    outFwd = new LineForwarder("ROW");
    ugi.doAs((PrivilegedExceptionAction<Void>) () -> {
      SessionState ss = new SessionState(jobConf, ugi.getShortUserName());
      ss.in = null;
      ss.out = new SessionStream(outFwd, true, "UTF-8");
      ss.err = new SessionStream(errFwd, true, "UTF-8");
      ss.info = ss.err;
      ss.childOut = ss.out;
      ss.childErr = ss.err;
      ss.getHiveVariables().putAll(jobVars);
      SessionState.start(ss);
      session = ss;
      return null;
    });
  }

  private void end() {
    if (session != null) {
      try {
        session.close();
      } catch (Exception e) {
        System.err.println("closing the session of " + jobId + ": " + e);
      }
      SessionState.detachSession();
      session = null;
    }
    if (ugi != null) {
      try {
        FileSystem.closeAllForUGI(ugi);
      } catch (IOException e) {
        System.err.println("closing file systems of " + jobId + ": " + e);
      }
      ugi = null;
    }
    jobId = null;
  }

  /* One statement, as the hive command line's processCmd runs it: SET, ADD, DFS and friends go
   * to their command processor, everything else to the Driver; rows are fetched and printed. */
  private int exec(String stmt) {
    long t0 = System.nanoTime();
    int[] rc = {0};
    int[] rows = {-1};
    try {
      ensureSession();
      ugi.doAs((PrivilegedExceptionAction<Void>) () -> {
        SessionState.setCurrentSessionState(session);
        String trimmed = stmt.trim();
        String[] tokens = trimmed.split("\\s+");
        CommandProcessor proc = CommandProcessorFactory.get(tokens, session.getConf());
        try {
          if (proc instanceof IDriver) {
            IDriver driver = (IDriver) proc;
            try {
              driver.run(trimmed);
              rows[0] = fetch(driver);
            } finally {
              driver.close();
            }
          } else {
            String rest = trimmed.substring(tokens[0].length()).trim();
            proc.run(rest);
          }
        } catch (CommandProcessorException e) {
          rc[0] = e.getResponseCode() != 0 ? e.getResponseCode() : 1;
          String msg = e.getMessage();
          if (msg != null && !msg.isEmpty() && !(proc instanceof IDriver)) {
            session.err.println(msg);
          }
        }
        return null;
      });
    } catch (Throwable t) {
      rc[0] = 1;
      log("FAILED: " + t);
      t.printStackTrace();
    }
    if (session != null) {
      session.err.flush();
      outFwd.finish();
      errFwd.finish();
    }
    if (rc[0] == 0) {
      double secs = (System.nanoTime() - t0) / 1e9;
      log("OK");
      if (rows[0] >= 0) {
        log(String.format(Locale.ROOT, "Time taken: %.3f seconds, Fetched: %d row(s)", secs,
                          rows[0]));
      } else {
        log(String.format(Locale.ROOT, "Time taken: %.3f seconds", secs));
      }
    }
    return rc[0];
  }

  /* Returns the number of rows, or -1 for a statement without a result set. */
  private int fetch(IDriver driver) throws IOException {
    org.apache.hadoop.hive.metastore.api.Schema schema = driver.getSchema();
    if (schema == null || schema.getFieldSchemas() == null) {
      return -1;
    }
    if (session.getConf().getBoolean("hive.cli.print.header", false)) {
      List<String> names = new ArrayList<>();
      schema.getFieldSchemas().forEach(f -> names.add(f.getName()));
      send("ROW", b64(String.join("\t", names)));
    }
    List<String> res = new ArrayList<>();
    int n = 0;
    while (driver.getResults(res)) {
      for (String r : res) {
        send("ROW", b64(r));
        n++;
      }
      res.clear();
    }
    return n;
  }

  // --- main loop --------------------------------------------------------------------------

  /* Opens a session once so that the metastore schema exists and the classes are loaded before
   * the first job arrives. */
  private void warmUp() throws Exception {
    begin("warmup", System.getProperty("user.name", "hive"));
    int rc = exec("SHOW DATABASES");
    end();
    if (rc != 0) {
      throw new IllegalStateException("the metastore does not answer (code " + rc + ")");
    }
  }

  private void serve(BufferedReader in) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      String[] p = line.split(" ");
      switch (p[0]) {
        case "BEGIN":
          begin(p[1], unb64(p[2]));
          send("OK", null);
          break;
        case "CONF":
          jobConf.set(unb64(p[1]), p.length > 2 ? unb64(p[2]) : "");
          send("OK", null);
          break;
        case "VAR":
          jobVars.put(unb64(p[1]), p.length > 2 ? unb64(p[2]) : "");
          send("OK", null);
          break;
        case "EXEC":
          send("DONE", Integer.toString(exec(p.length > 1 ? unb64(p[1]) : "")));
          break;
        case "END":
          end();
          send("ENDED", null);
          break;
        default:
          send("ERROR", b64("unknown request " + p[0]));
      }
    }
  }

  public static void main(String[] args) throws Exception {
    // The protocol owns the real stdout; anything else printed goes to stderr.
    PrintStream proto =
        new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
    System.setOut(System.err);

    HiveConf base = new HiveConf(SessionState.class);
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].equals("--set") || !args[i + 1].contains("=")) {
        throw new IllegalArgumentException("expected --set NAME=VALUE, got " + args[i]);
      }
      String[] kv = args[i + 1].split("=", 2);
      base.set(kv[0], kv[1]);
    }
    HiveEngine engine = new HiveEngine(proto, base);
    engine.warmUp();
    engine.send("READY", null);
    engine.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
    // stdin closed: the stand-in is gone, and so are we.
    System.exit(0);
  }
}
