"""What the hive command line does with its input before the Driver sees it: split a script into
statements, and read the --hiveconf / --hivevar / --define options of a job."""

# Options of `hive` that take a NAME=VALUE argument, and where the value goes.
_KV_OPTIONS = {
    "--hiveconf": "conf",
    "-hiveconf": "conf",
    "--hivevar": "var",
    "-hivevar": "var",
    "--define": "var",
    "-d": "var",
}
# Options without an argument that change nothing here (output verbosity of the CLI).
_FLAG_OPTIONS = {"-S", "--silent", "-v", "--verbose"}
# Beeline's connection options (org.apache.hive.beeline.BeeLine.connectUsingArgs): Hive 4's
# bin/hive passes its arguments to Beeline, which takes these; Hive 3's CliDriver refuses them.
_BEELINE_OPTIONS = {"-u": "url", "-n": "user", "-p": "password"}


class HiveArgError(ValueError):
    """A command-line argument that `hive` would reject."""


def _strip_comment_lines(text):
    """Drops `--` comments (to the end of the line) that are outside quotes."""
    out = []
    quote = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
            out.append(c)
        elif c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            if j < 0:
                break
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def split_statements(text):
    """Splits HiveQL on `;` outside quotes ('...', "..." with backslash escapes, and `...`),
    after removing `--` comments; blank statements are dropped. This is what `hive -e` and
    `hive -f` do before running each statement in order."""
    text = _strip_comment_lines(text)
    stmts = []
    cur = []
    quote = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and quote != "`" and i + 1 < n:
                cur.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
            cur.append(c)
        elif c == ";":
            stmts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    stmts.append("".join(cur))
    return [s.strip() for s in stmts if s.strip()]


def _split_kv(value, option):
    if "=" not in value:
        raise HiveArgError(f"{option} needs NAME=VALUE, got '{value}'")
    name, val = value.split("=", 1)
    if not name:
        raise HiveArgError(f"{option} needs NAME=VALUE, got '{value}'")
    return name, val


def parse_options(defines, args, beeline=False):
    """Returns (hiveconf, hivevar, connection) dicts from the `define` form fields (each
    NAME=VALUE, a --hiveconf) and the `arg` fields (hive command-line arguments); connection
    holds Beeline's -u/-n/-p when beeline (Hive 4's bin/hive), and they are refused otherwise."""
    conf, var, conn = {}, {}, {}
    for d in defines:
        k, v = _split_kv(d, "define")
        conf[k] = v
    i = 0
    while i < len(args):
        a = args[i]
        if a in _FLAG_OPTIONS:
            i += 1
            continue
        if a in _KV_OPTIONS:
            if i + 1 >= len(args):
                raise HiveArgError(f"Missing argument for option: {a}")
            k, v = _split_kv(args[i + 1], a)
            (conf if _KV_OPTIONS[a] == "conf" else var)[k] = v
            i += 2
            continue
        if beeline and a in _BEELINE_OPTIONS:
            if i + 1 >= len(args):
                raise HiveArgError(f"Missing argument for option: {a}")
            conn[_BEELINE_OPTIONS[a]] = args[i + 1]
            i += 2
            continue
        raise HiveArgError(f"Unrecognized option: {a}")
    return conf, var, conn
