"""The catalog of blocking callables, shared by the static analyzer and the runtime detector.

Data and matching only: this module imports nothing else of the project.

Static names are the qualified names a call resolves to after following imports:
``requests.get`` is the function, ``requests.Session.get`` the method ``get`` called on a
``requests.Session`` instance. A trailing ``.*`` on a type means "any method of it".
Builtins are written ``builtins.open``; :func:`match_qualname` also accepts ``open``.

Runtime names are ``f_globals["__name__"] + "." + co_qualname`` of a Python frame, as a
sampled stack shows them (``requests.sessions.Session.request``). A trailing ``.*`` matches
any function under that prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Entry:
    code: str
    category: str
    # Static qualified names (functions and methods on a type).
    qualnames: tuple[str, ...]
    # Names as they show up in a Python stack: module + "." + co_qualname.
    runtime_names: tuple[str, ...]
    # Generic advice for every call of this entry.
    advice: str
    # Async replacement: a callable ("asyncio.sleep") or a method name ("acomplete").
    twin: str | None = None
    # The subset of ``qualnames`` that are plain module-level callables (module, attribute).
    module_funcs: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        return CATEGORY_TITLES.get(self.category, self.category)


CATEGORY_TITLES: dict[str, str] = {
    "http": "synchronous HTTP request",
    "file": "file-system I/O",
    "sleep": "time.sleep",
    "process": "subprocess call",
    "socket": "socket or DNS call",
    "database": "synchronous database driver call",
    "thread-wait": "wait on a thread primitive",
    "console": "console input",
    "cpu": "CPU-heavy call",
    "sdk": "synchronous SDK / LLM client call",
    "sdk-thread": "synchronous SDK / LLM call with no full async twin",
}

# Categories whose calls can always be offloaded with ``asyncio.to_thread``.
_TO_THREAD = "await asyncio.to_thread(fn, *args)"

_ENTRIES: list[Entry] = []
# Types whose instances are produced by a constructor or factory: callable -> type.
# The analyzer uses this for simple local types (``s = requests.Session()``).
CONSTRUCTORS: dict[str, str] = {}


def _add(
    code: str,
    category: str,
    advice: str,
    funcs: Iterable[str] = (),
    methods: Iterable[str] = (),
    runtime: Iterable[str] = (),
    twin: str | None = None,
    patch: bool = True,
) -> None:
    funcs = tuple(funcs)
    mods = []
    # patch=False: calls that block only with some arguments (yaml.safe_load on a file, not on
    # a string) must not be reported by strict mode whatever they are given.
    for f in funcs if patch else ():
        module, _, attr = f.rpartition(".")
        # Classes (smtplib.SMTP) are matched statically but never patched at runtime.
        if module and module != "builtins" and attr[:1].islower():
            mods.append((module, attr))
    _ENTRIES.append(
        Entry(code, category, funcs + tuple(methods), tuple(runtime), advice, twin, tuple(mods))
    )


def _methods(typ: str, names: str) -> list[str]:
    return [f"{typ}.{n}" for n in names.split()]


def _ctor(typ: str, *factories: str) -> None:
    for f in factories or (typ,):
        CONSTRUCTORS[f] = typ


# --- WFA101: synchronous HTTP ---------------------------------------------------------------
_HTTP_VERBS = "get post put patch delete head options request"
_add(
    "WFA101", "http",
    "use an async HTTP client (httpx.AsyncClient, aiohttp) or await asyncio.to_thread(...)",
    funcs=[f"requests.{v}" for v in _HTTP_VERBS.split()]
    + [f"httpx.{v}" for v in (_HTTP_VERBS + " stream").split()]
    + ["urllib.request.urlopen", "urllib.request.urlretrieve", "urllib3.request"],
    methods=_methods("requests.Session", _HTTP_VERBS + " send")
    + _methods("httpx.Client", _HTTP_VERBS + " send stream")
    + _methods("urllib3.PoolManager", "request urlopen request_encode_url request_encode_body")
    + _methods("urllib3.HTTPConnectionPool", "request urlopen")
    + _methods("urllib.request.OpenerDirector", "open")
    + _methods("http.client.HTTPConnection", "request getresponse connect send endheaders")
    + _methods("http.client.HTTPSConnection", "request getresponse connect send endheaders")
    + _methods("http.client.HTTPResponse", "read readline readlines"),
    runtime=[
        "requests.api.*", "requests.sessions.Session.request", "requests.sessions.Session.send",
        "requests.adapters.HTTPAdapter.send",
        "httpx._api.*", "httpx._client.Client.*",
        "urllib.request.urlopen", "urllib.request.urlretrieve", "urllib.request.OpenerDirector.open",
        "urllib3.connectionpool.HTTPConnectionPool.urlopen", "urllib3.poolmanager.PoolManager.urlopen",
        "urllib3._request_methods.RequestMethods.request",
        "http.client.HTTPConnection.getresponse", "http.client.HTTPConnection.request",
        "http.client.HTTPConnection.connect", "http.client.HTTPConnection.endheaders",
        "http.client.HTTPResponse.read", "http.client.HTTPResponse.begin",
    ],
)
_ctor("requests.Session", "requests.Session", "requests.session", "requests.sessions.Session")
_ctor("httpx.Client", "httpx.Client")
_ctor("urllib3.PoolManager", "urllib3.PoolManager")
_ctor("urllib3.HTTPConnectionPool", "urllib3.HTTPConnectionPool", "urllib3.HTTPSConnectionPool",
      "urllib3.connection_from_url")
_ctor("urllib.request.OpenerDirector", "urllib.request.build_opener")
_ctor("http.client.HTTPConnection", "http.client.HTTPConnection")
_ctor("http.client.HTTPSConnection", "http.client.HTTPSConnection")
_ctor("http.client.HTTPResponse", "http.client.HTTPConnection.getresponse",
      "http.client.HTTPSConnection.getresponse", "urllib.request.urlopen")

# --- WFA102: file-system I/O ----------------------------------------------------------------
FILE_TYPE = "io.IOBase"
# The shutil functions that touch the disk (get_terminal_size, get_archive_formats and the
# register_* functions do not).
_SHUTIL_DISK = ("copyfileobj copyfile copymode copystat copy copy2 copytree rmtree move chown "
                "which make_archive unpack_archive disk_usage").split()
_PATH_IO = (
    "open read_text write_text read_bytes write_bytes exists is_file is_dir is_symlink mkdir "
    "rmdir unlink touch iterdir glob rglob stat lstat chmod rename replace resolve samefile "
    "owner group readlink symlink_to hardlink_to walk"
)
_add(
    "WFA102", "file",
    "await asyncio.to_thread(...) for the I/O (or aiofiles / anyio.Path); make the step a plain "
    "def if it is all I/O",
    funcs=["builtins.open", "io.open", "os.open", "os.read", "os.write", "os.stat", "os.lstat",
           "os.listdir", "os.scandir", "os.walk", "os.remove", "os.unlink", "os.rename",
           "os.replace", "os.mkdir", "os.makedirs", "os.rmdir", "os.removedirs", "os.chmod",
           "os.chown", "os.fsync", "os.truncate", "os.utime", "os.link", "os.symlink",
           "os.readlink", "os.access", "os.path.exists", "os.path.isfile", "os.path.isdir",
           "os.path.islink", "os.path.getsize", "os.path.getmtime", "os.path.getatime",
           "os.path.getctime", "os.path.realpath", "os.path.samefile", "os.path.lexists",
           *(f"shutil.{n}" for n in _SHUTIL_DISK), "glob.glob", "glob.iglob",
           "tempfile.mkstemp", "tempfile.mkdtemp", "json.load", "json.dump", "pickle.load",
           "pickle.dump"],
    methods=_methods("pathlib.Path", _PATH_IO)
    + _methods(FILE_TYPE, "read readline readlines write writelines flush truncate readinto"),
    runtime=[*(f"shutil.{n}" for n in _SHUTIL_DISK), "os.walk", "os._walk", "glob.glob", "glob._iglob", "pathlib.Path.read_text",
             "pathlib.Path.write_text", "pathlib.Path.read_bytes", "pathlib.Path.write_bytes",
             "pathlib._local.Path.*", "pathlib._abc.PathBase.read_text",
             "pathlib._abc.PathBase.write_text", "pathlib._abc.PathBase.read_bytes",
             "pathlib._abc.PathBase.write_bytes", "tempfile.mkstemp", "tempfile.mkdtemp"],
)
_ctor("pathlib.Path", "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")
# Path methods that return another Path (resolve and readlink touch the disk; expanduser and
# absolute do not: the disk is touched by what is done with their result).
_ctor("pathlib.Path", *(f"pathlib.Path.{m}" for m in (
    "with_suffix with_name with_stem joinpath relative_to resolve expanduser absolute readlink "
    "rename replace home cwd").split()))
_ctor(FILE_TYPE, "builtins.open", "io.open", "pathlib.Path.open", "tempfile.TemporaryFile",
      "tempfile.NamedTemporaryFile", "gzip.open", "bz2.open", "lzma.open")

# --- WFA103: time.sleep ---------------------------------------------------------------------
_add(
    "WFA103", "sleep", "await asyncio.sleep(...)",
    funcs=["time.sleep"], runtime=["time.sleep"], twin="asyncio.sleep",
)

# --- WFA104: processes ----------------------------------------------------------------------
_add(
    "WFA104", "process",
    "await asyncio.create_subprocess_exec(...) or await asyncio.to_thread(...)",
    funcs=["subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
           "subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen",
           "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve",
           "os.spawnvp", "os.spawnvpe", "os.wait", "os.waitpid", "os.wait3", "os.wait4",
           "os.waitid", "os.posix_spawn", "os.posix_spawnp"],
    methods=_methods("subprocess.Popen", "wait communicate"),
    runtime=["subprocess.run", "subprocess.call", "subprocess.check_call",
             "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput",
             "subprocess.Popen.wait", "subprocess.Popen.communicate", "subprocess.Popen._wait",
             "os.popen", "os._spawnvef"],
)
_ctor("subprocess.Popen", "subprocess.Popen")

# --- WFA105: sockets and DNS ----------------------------------------------------------------
_SOCK = "connect connect_ex recv recv_into recvfrom recvmsg send sendall sendto sendmsg accept sendfile"
_add(
    "WFA105", "socket",
    "use asyncio streams (asyncio.open_connection) or loop.sock_* methods, or await "
    "asyncio.to_thread(...)",
    funcs=["socket.create_connection", "socket.getaddrinfo", "socket.gethostbyname",
           "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getfqdn",
           "socket.getnameinfo", "socket.create_server", "ssl.get_server_certificate",
           "smtplib.SMTP", "smtplib.SMTP_SSL", "ftplib.FTP", "ftplib.FTP_TLS",
           "telnetlib.Telnet", "poplib.POP3", "imaplib.IMAP4", "imaplib.IMAP4_SSL"],
    methods=_methods("socket.socket", _SOCK)
    + _methods("ssl.SSLSocket", _SOCK + " do_handshake read write")
    + ["smtplib.SMTP.*", "ftplib.FTP.*", "imaplib.IMAP4.*", "poplib.POP3.*"],
    runtime=["socket.create_connection", "socket.getaddrinfo", "socket.getfqdn",
             "socket.create_server", "socket.socket.accept", "socket.socket.sendfile",
             "ssl.SSLSocket.*", "ssl.get_server_certificate", "smtplib.SMTP.*", "ftplib.FTP.*",
             "imaplib.IMAP4.*", "poplib.POP3.*"],
)
_ctor("socket.socket", "socket.socket", "socket.create_connection", "socket.socket.accept")
_ctor("ssl.SSLSocket", "ssl.wrap_socket", "ssl.SSLContext.wrap_socket")
_ctor("smtplib.SMTP", "smtplib.SMTP", "smtplib.SMTP_SSL")
_ctor("ftplib.FTP", "ftplib.FTP", "ftplib.FTP_TLS")
_ctor("imaplib.IMAP4", "imaplib.IMAP4", "imaplib.IMAP4_SSL")
_ctor("poplib.POP3", "poplib.POP3", "poplib.POP3_SSL")

# --- WFA106: synchronous database drivers ---------------------------------------------------
_add(
    "WFA106", "database",
    "use the async driver (aiosqlite, asyncpg, psycopg AsyncConnection, aiomysql, redis.asyncio, "
    "motor, SQLAlchemy AsyncEngine) or await asyncio.to_thread(...)",
    funcs=["sqlite3.connect", "psycopg2.connect", "psycopg.connect", "pymysql.connect",
           "mysql.connector.connect", "MySQLdb.connect"],
    methods=_methods("sqlite3.Connection", "execute executemany executescript commit rollback "
                                           "backup close")
    + _methods("sqlite3.Cursor", "execute executemany executescript fetchone fetchmany fetchall")
    + ["psycopg2.connection.*", "psycopg.Connection.*", "pymysql.Connection.*",
       "mysql.connector.MySQLConnection.*", "dbapi.Cursor.*",
       "redis.Redis.*", "pymongo.MongoClient.*",
       "sqlalchemy.Engine.*", "sqlalchemy.Connection.*", "sqlalchemy.orm.Session.*"],
    runtime=["pymysql.connections.Connection.*", "pymysql.cursors.Cursor.*",
             "mysql.connector.*", "redis.client.Redis.execute_command",
             "redis.connection.Connection.read_response", "pymongo.*",
             "sqlalchemy.engine.base.Connection.execute", "sqlalchemy.engine.base.Engine.connect",
             "sqlalchemy.orm.session.Session.execute", "sqlalchemy.orm.session.Session.commit",
             "sqlalchemy.orm.query.Query.all", "sqlalchemy.orm.query.Query.first",
             "psycopg.connection.Connection.*", "psycopg.cursor.Cursor.*"],
)
_ctor("sqlite3.Connection", "sqlite3.connect")
# A database in memory (sqlite3.connect(":memory:"), see QUIET_BUILDS) touches no disk: none of
# its methods is I/O, and what its cursors do is not tracked.
MEMORY_DB = "sqlite3.MemoryConnection"
# execute() on a connection or a cursor returns a cursor: rows = conn.execute(sql) then rows.fetchall().
_ctor("sqlite3.Cursor", "sqlite3.Connection.cursor",
      *_methods("sqlite3.Connection", "execute executemany executescript"),
      *_methods("sqlite3.Cursor", "execute executemany executescript"))
_ctor("psycopg2.connection", "psycopg2.connect")
_ctor("psycopg.Connection", "psycopg.connect", "psycopg.Connection.connect")
_ctor("pymysql.Connection", "pymysql.connect")
_ctor("mysql.connector.MySQLConnection", "mysql.connector.connect")
_ctor("dbapi.Cursor", "psycopg2.connection.cursor", "psycopg.Connection.cursor",
      "pymysql.Connection.cursor", "mysql.connector.MySQLConnection.cursor")
_ctor("redis.Redis", "redis.Redis", "redis.StrictRedis", "redis.Redis.from_url", "redis.from_url")
_ctor("pymongo.MongoClient", "pymongo.MongoClient")
_ctor("sqlalchemy.Engine", "sqlalchemy.create_engine")
_ctor("sqlalchemy.Connection", "sqlalchemy.Engine.connect", "sqlalchemy.Engine.begin")
_ctor("sqlalchemy.orm.Session", "sqlalchemy.orm.Session")

# --- WFA107: waits on thread primitives -----------------------------------------------------
_add(
    "WFA107", "thread-wait",
    "use asyncio primitives (asyncio.Lock/Event/Queue), await asyncio.wrap_future(fut), or "
    "await asyncio.to_thread(...)",
    funcs=["concurrent.futures.wait", "concurrent.futures.as_completed"],
    methods=_methods("threading.Lock", "acquire")
    + _methods("threading.Event", "wait")
    + _methods("threading.Semaphore", "acquire")
    + _methods("threading.Condition", "wait wait_for acquire")
    + _methods("threading.Barrier", "wait")
    + _methods("threading.Thread", "join")
    + _methods("queue.Queue", "get put join")
    + _methods(UNBOUNDED_QUEUE := "queue.UnboundedQueue", "get join")
    + _methods("concurrent.futures.Future", "result exception")
    + _methods("concurrent.futures.Executor", "shutdown")
    + _methods("concurrent.futures.ProcessPoolExecutor", "shutdown")
    + _methods("multiprocessing.Process", "join")
    + _methods("multiprocessing.Pool", "join map starmap apply imap")
    + _methods("multiprocessing.Queue", "get put join"),
    runtime=["threading.Event.wait", "threading.Condition.wait", "threading.Condition.wait_for",
             "threading.Semaphore.acquire", "threading.Barrier.wait", "threading.Thread.join",
             "threading.Thread._wait_for_tstate_lock", "queue.Queue.get", "queue.Queue.put",
             "queue.Queue.join", "concurrent.futures._base.Future.result",
             "concurrent.futures._base.Future.exception", "concurrent.futures._base.wait",
             "concurrent.futures._base.as_completed",
             "concurrent.futures.thread.ThreadPoolExecutor.shutdown",
             "concurrent.futures.process.ProcessPoolExecutor.shutdown",
             "multiprocessing.process.BaseProcess.join", "multiprocessing.pool.Pool.join",
             "multiprocessing.pool.Pool.map", "multiprocessing.pool.ApplyResult.get",
             "multiprocessing.queues.Queue.get"],
)
_ctor("threading.Lock", "threading.Lock", "threading.RLock")
_ctor("threading.Event", "threading.Event")
_ctor("threading.Semaphore", "threading.Semaphore", "threading.BoundedSemaphore")
_ctor("threading.Condition", "threading.Condition")
_ctor("threading.Barrier", "threading.Barrier")
_ctor("threading.Thread", "threading.Thread", "threading.Timer")
# A queue.Queue (LifoQueue, PriorityQueue) of unknown size may be full: put() waits. Built
# without a maxsize (or with one <= 0) it is unbounded (QUIET_BUILDS), as a SimpleQueue always
# is: put() never waits, get() and join() still do.
_QUEUES = ("queue.Queue", "queue.LifoQueue", "queue.PriorityQueue")
_ctor("queue.Queue", *_QUEUES)
_ctor(UNBOUNDED_QUEUE, "queue.SimpleQueue")
_ctor("concurrent.futures.Future", "concurrent.futures.Future",
      "concurrent.futures.Executor.submit", "concurrent.futures.ProcessPoolExecutor.submit")
_ctor("concurrent.futures.Executor", "concurrent.futures.ThreadPoolExecutor")
_ctor(PROCESS_POOL := "concurrent.futures.ProcessPoolExecutor",
      "concurrent.futures.ProcessPoolExecutor")
_ctor("multiprocessing.Process", "multiprocessing.Process")
_ctor("multiprocessing.Pool", "multiprocessing.Pool", "multiprocessing.pool.Pool")
_ctor("multiprocessing.Queue", "multiprocessing.Queue", "multiprocessing.JoinableQueue")

# --- WFA302: where a callable travels by pickle -----------------------------------------------
_ctor(DASK_CLIENT := "distributed.Client", "distributed.Client", "distributed.client.Client",
      "dask.distributed.Client", "distributed.get_client", "dask.distributed.get_client")
_ctor(DASK_EXECUTOR := "distributed.ClientExecutor", "distributed.Client.get_executor",
      "distributed.cfexecutor.ClientExecutor")
# What receives a callable to run in another process, and how it is named in messages.
PICKLING_RECEIVERS = {
    PROCESS_POOL: "a ProcessPoolExecutor",
    DASK_CLIENT: "a Dask cluster",
    DASK_EXECUTOR: "a Dask cluster",
}
# Receivers that pickle with cloudpickle, which carries lambdas and nested functions by value.
BY_VALUE_RECEIVERS = frozenset({DASK_CLIENT, DASK_EXECUTOR})
# Values that neither pickle nor cloudpickle can carry, passed or captured.
UNPICKLABLE_TYPES = frozenset({
    "threading.Lock", "threading.Event", "threading.Semaphore", "threading.Condition",
    "threading.Barrier", "threading.Thread", "queue.Queue", "concurrent.futures.Future",
    "concurrent.futures.Executor", PROCESS_POOL, "multiprocessing.Process", "multiprocessing.Pool",
    "multiprocessing.Queue", "socket.socket", "ssl.SSLSocket", "sqlite3.Connection",
    "sqlite3.Cursor", "subprocess.Popen", DASK_CLIENT, DASK_EXECUTOR, UNBOUNDED_QUEUE, MEMORY_DB,
})
# Open files: the standard pickle refuses them; cloudpickle reads a text file's content.
UNPICKLABLE_BY_REFERENCE = UNPICKLABLE_TYPES | {FILE_TYPE}

# --- WFA108: console input ------------------------------------------------------------------
_add(
    "WFA108", "console",
    "await asyncio.to_thread(input, ...), or ask through a human-in-the-loop event "
    "(InputRequiredEvent / HumanResponseEvent)",
    funcs=["builtins.input", "getpass.getpass"],
    runtime=["getpass.unix_getpass", "getpass.win_getpass", "getpass.fallback_getpass"],
)

# --- WFA109: CPU-heavy calls ----------------------------------------------------------------
_add(
    "WFA109", "cpu",
    "run it in a small dedicated executor: await loop.run_in_executor(cpu_pool, fn, *args)",
    funcs=["hashlib.pbkdf2_hmac", "hashlib.scrypt", "bcrypt.hashpw", "bcrypt.checkpw",
           "bcrypt.kdf", "argon2.low_level.hash_secret", "argon2.low_level.hash_secret_raw",
           "argon2.low_level.verify_secret", "argon2.hash_password", "argon2.hash_password_raw",
           "argon2.verify_password",
           "zlib.compress", "zlib.decompress", "gzip.compress", "gzip.decompress",
           "bz2.compress", "bz2.decompress", "lzma.compress", "lzma.decompress"],
    methods=_methods("argon2.PasswordHasher", "hash verify"),
    runtime=["gzip.compress", "gzip.decompress", "bz2.compress", "bz2.decompress",
             "lzma.compress", "lzma.decompress", "argon2.low_level.hash_secret",
             "argon2.low_level.hash_secret_raw", "argon2.low_level.verify_secret",
             "argon2._password_hasher.PasswordHasher.hash", "argon2._password_hasher.PasswordHasher.verify"],
)
_ctor("argon2.PasswordHasher", "argon2.PasswordHasher", "argon2._password_hasher.PasswordHasher",
      "argon2.PasswordHasher.from_parameters")

# File-system calls that only look at metadata (one stat, one readlink): when a function also
# opens, reads, writes or creates, a WFA201 chain names that stronger reason instead.
METADATA_ONLY: frozenset[str] = frozenset(
    [f"os.path.{n}" for n in "exists isfile isdir islink lexists getsize getmtime getatime getctime "
                              "realpath samefile".split()]
    + ["os.stat", "os.lstat", "os.access", "os.readlink", "os.path.ismount", "os.path.sameopenfile",
       "shutil.which"]
    + _methods("pathlib.Path", "exists is_file is_dir is_symlink stat lstat resolve samefile owner group "
                               "readlink"))

# Calls whose cost grows with the data they are given: on a literal (``zlib.compress(b"abc")``)
# they take microseconds, so only a call on other data is worth a finding.
SIZED_BY_DATA: frozenset[str] = frozenset(
    f"{mod}.{fn}" for mod in ("zlib", "gzip", "bz2", "lzma") for fn in ("compress", "decompress"))

# --- WFA110: sync calls on SDK / LLM clients -------------------------------------------------
# LlamaIndex objects by kind: the base type a value of that kind is tracked as, the modules
# whose classes are of that kind, and its sync methods with their async twins.
LLAMA_KINDS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "llm": ("llama_index.core.llms.LLM", ("llama_index.llms", "llama_index.core.llms"), {
        "complete": "acomplete", "chat": "achat", "stream_complete": "astream_complete",
        "stream_chat": "astream_chat", "predict": "apredict", "stream": "astream",
        "structured_predict": "astructured_predict",
        "stream_structured_predict": "astream_structured_predict",
        "predict_and_call": "apredict_and_call", "chat_with_tools": "achat_with_tools",
        "stream_chat_with_tools": "astream_chat_with_tools"}),
    "embedding": ("llama_index.core.base.embeddings.base.BaseEmbedding",
                  ("llama_index.embeddings", "llama_index.core.embeddings",
                   "llama_index.core.base.embeddings"), {
        "get_text_embedding": "aget_text_embedding", "get_query_embedding": "aget_query_embedding",
        "get_text_embedding_batch": "aget_text_embedding_batch",
        "get_agg_embedding_from_queries": "aget_agg_embedding_from_queries"}),
    "index": ("llama_index.core.indices.base.BaseIndex", ("llama_index.core.indices",), {
        "insert": "ainsert", "insert_nodes": "ainsert_nodes", "delete_nodes": "adelete_nodes",
        "delete_ref_doc": "adelete_ref_doc", "update_ref_doc": "aupdate_ref_doc",
        "refresh_ref_docs": "arefresh_ref_docs"}),
    "query_engine": ("llama_index.core.base.base_query_engine.BaseQueryEngine",
                     ("llama_index.core.query_engine", "llama_index.core.base.base_query_engine"), {
        "query": "aquery", "retrieve": "aretrieve", "synthesize": "asynthesize"}),
    "retriever": ("llama_index.core.base.base_retriever.BaseRetriever",
                  ("llama_index.core.retrievers", "llama_index.core.base.base_retriever"), {
        "retrieve": "aretrieve"}),
    "chat_engine": ("llama_index.core.chat_engine.types.BaseChatEngine",
                    ("llama_index.core.chat_engine",), {
        "chat": "achat", "stream_chat": "astream_chat"}),
    # Metadata extractors (TitleExtractor, SummaryExtractor, ...) call an LLM per node.
    "extractor": ("llama_index.core.extractors.interface.BaseExtractor", ("llama_index.core.extractors",), {
        "extract": "aextract", "process_nodes": "aprocess_nodes"}),
    # Response synthesizers (get_response_synthesizer(), TreeSummarize, Refine, ...) ask the LLM.
    "synthesizer": ("llama_index.core.response_synthesizers.base.BaseSynthesizer",
                    ("llama_index.core.response_synthesizers",), {
        "synthesize": "asynthesize", "get_response": "aget_response"}),
}
# Where the runtime sees each kind's methods run (module + co_qualname of the base class).
_LLAMA_RUNTIME = {
    "llm": ("llama_index.core.llms.llm.LLM",),
    "embedding": ("llama_index.core.base.embeddings.base.BaseEmbedding",),
    "index": ("llama_index.core.indices.base.BaseIndex",),
    "query_engine": ("llama_index.core.base.base_query_engine.BaseQueryEngine",),
    "retriever": ("llama_index.core.base.base_retriever.BaseRetriever",),
    "chat_engine": ("llama_index.core.chat_engine.types.BaseChatEngine",),
    "extractor": ("llama_index.core.extractors.interface.BaseExtractor",),
    "synthesizer": ("llama_index.core.response_synthesizers.base.BaseSynthesizer",),
}
# Methods the runtime sees under other names. An LLM's complete and chat are abstract on the
# base class: every integration's own runs inside LlamaIndex's sync callback wrapper, the one
# frame all of them share. Tool calling is FunctionCallingLLM's; VectorStoreIndex overrides
# some index methods.
_LLM_CALLBACKS = "llama_index.core.llms.callbacks"
_PREDICT = f"{_LLM_CALLBACKS}.llm_completion_callback.<locals>.wrap.<locals>.wrapped_llm_predict"
_CHAT = f"{_LLM_CALLBACKS}.llm_chat_callback.<locals>.wrap.<locals>.wrapped_llm_chat"
# Methods with no frame on the kind's base class (abstract there).
_NO_BASE_FRAME = frozenset({("llm", m) for m in ("complete", "chat", "stream_complete", "stream_chat",
                                                 "chat_with_tools", "stream_chat_with_tools")}
                           | {("synthesizer", "get_response")})
_SYNTHESIZERS = "llama_index.core.response_synthesizers"
_LLAMA_RUNTIME_OWN = {
    "complete": [_PREDICT], "chat": [_CHAT],
    "stream_complete": [f"{_PREDICT}.<locals>.wrapped_gen"], "stream_chat": [f"{_CHAT}.<locals>.wrapped_gen"],
    **{m: [f"llama_index.core.llms.function_calling.FunctionCallingLLM.{m}"]
       for m in ("chat_with_tools", "stream_chat_with_tools", "predict_and_call")},
    **{m: [f"llama_index.core.indices.vector_store.base.VectorStoreIndex.{m}"]
       for m in ("insert_nodes", "delete_nodes", "delete_ref_doc")},
    "get_response": [f"{_SYNTHESIZERS}.{mod}.{cls}.get_response" for mod, cls in (
        ("refine", "Refine"), ("compact_and_refine", "CompactAndRefine"), ("tree_summarize", "TreeSummarize"),
        ("simple_summarize", "SimpleSummarize"), ("accumulate", "Accumulate"),
        ("compact_and_accumulate", "CompactAndAccumulate"), ("generation", "Generation"))],
    "synthesize": [f"{_SYNTHESIZERS}.generation.Generation.synthesize"],
}
_LLAMA_SETTINGS = {"llm": "llama_index.core.Settings.llm",
                   "embedding": "llama_index.core.Settings.embed_model"}
# Every sync method name -> its twin (one name has one twin whatever the kind).
LLAMA_TWINS: dict[str, str] = {m: t for _, _, twins in LLAMA_KINDS.values() for m, t in twins.items()}
for _sync, _async in LLAMA_TWINS.items():
    _methods_of: list[str] = []
    _runtime_of: list[str] = []
    for _kind, (_base, _prefixes, _twins) in LLAMA_KINDS.items():
        if _sync not in _twins:
            continue
        _methods_of.append(f"{_base}.{_sync}")
        _methods_of += [f"{p}.*.{_sync}" for p in _prefixes]
        if _kind in _LLAMA_SETTINGS:
            _methods_of.append(f"{_LLAMA_SETTINGS[_kind]}.{_sync}")
        if (_kind, _sync) not in _NO_BASE_FRAME:
            _runtime_of += [f"{r}.{_sync}" for r in _LLAMA_RUNTIME[_kind]]
    _runtime_of += _LLAMA_RUNTIME_OWN.get(_sync, [])
    _add(
        "WFA110", "sdk",
        f"await the async twin .{_async}(...) instead of .{_sync}(...)",
        methods=_methods_of, runtime=_runtime_of, twin=_async,
    )
# --- WFA110: LlamaIndex ingestion, readers, pipelines and query transforms -------------------
# Index classes whose construction from nodes embeds them or asks an LLM (SummaryIndex and the
# simple keyword tables only store nodes): sub-package of llama_index.core.indices -> class.
_LLAMA_BUILDERS = {
    "vector_store": "VectorStoreIndex", "property_graph": "PropertyGraphIndex",
    "knowledge_graph": "KnowledgeGraphIndex", "keyword_table": "KeywordTableIndex",
    "tree": "TreeIndex", "document_summary": "DocumentSummaryIndex",
    "multi_modal": "MultiModalVectorStoreIndex",
}
_LLAMA_BUILDER_PATHS = [
    path for sub, cls in _LLAMA_BUILDERS.items() for path in (
        f"llama_index.core.{cls}", f"llama_index.core.indices.{cls}",
        f"llama_index.core.indices.{sub}.{cls}", f"llama_index.core.indices.{sub}.base.{cls}")
]
# Constructors that only do that work on the nodes (or objects) they are given: called with
# none, or with an empty literal, they build an empty index and block nothing.
NODE_BUILDERS: frozenset[str] = frozenset(_LLAMA_BUILDER_PATHS)
_add(
    "WFA110", "sdk-thread",
    "await asyncio.to_thread(VectorStoreIndex.from_documents, docs): use_async=True does not "
    "help, it waits on the calling thread for a second event loop; or build the index empty and "
    "await index.ainsert_nodes(await pipeline.arun(documents=docs))",
    methods=[f"{p}.from_documents" for p in _LLAMA_BUILDER_PATHS],
    runtime=["llama_index.core.indices.base.BaseIndex.from_documents"],
)
_add(
    "WFA110", "sdk-thread",
    "await asyncio.to_thread(VectorStoreIndex, nodes), or build the index empty and await "
    "index.ainsert_nodes(nodes)",
    methods=_LLAMA_BUILDER_PATHS,
    runtime=[f"llama_index.core.indices.{sub}.base.{cls}.__init__" for sub, cls in _LLAMA_BUILDERS.items()
             if cls != "KeywordTableIndex"]
    + ["llama_index.core.indices.keyword_table.base.BaseKeywordTableIndex.__init__"],
)
# SimpleDirectoryReader.aload_data is no full twin: it still opens plain-text files and reads
# every file's metadata on the loop thread.
_SDR = "llama_index.core.readers.file.base.SimpleDirectoryReader"
_ctor(_SDR, "llama_index.core.SimpleDirectoryReader", "llama_index.core.readers.SimpleDirectoryReader",
      "llama_index.core.readers.file.base.SimpleDirectoryReader")
_add(
    "WFA110", "sdk-thread",
    "await asyncio.to_thread(reader.load_data): aload_data still opens plain-text files and "
    "reads their metadata on the loop thread",
    methods=_methods(_SDR, "load_data load_resource load_resources"),
    runtime=[f"{_SDR}.load_data", f"{_SDR}.load_resource",
             "llama_index.core.readers.base.ResourcesReaderMixin.load_resources"],
)
# Module-level, but matched as names only: the runtime never patches a library's functions.
_add(
    "WFA110", "sdk",
    "await arun_transformations(...) (llama_index.core.ingestion) instead of run_transformations(...)",
    methods=["llama_index.core.ingestion.run_transformations",
             "llama_index.core.ingestion.pipeline.run_transformations"],
    runtime=["llama_index.core.ingestion.pipeline.run_transformations"],
    twin="llama_index.core.ingestion.arun_transformations",
)
_INGESTION = "llama_index.core.ingestion.pipeline.IngestionPipeline"
_QUERY_PIPELINE = "llama_index.core.query_pipeline.query.QueryPipeline"
_ctor(_INGESTION, "llama_index.core.ingestion.IngestionPipeline", _INGESTION)
_ctor(_QUERY_PIPELINE, "llama_index.core.query_pipeline.QueryPipeline", _QUERY_PIPELINE)
for _sync, _types in (("run", (_INGESTION, _QUERY_PIPELINE)), ("run_multi", (_QUERY_PIPELINE,)),
                      ("run_with_intermediates", (_QUERY_PIPELINE,))):
    _add(
        "WFA110", "sdk",
        f"await the async twin .a{_sync}(...) instead of .{_sync}(...)",
        methods=[f"{t}.{_sync}" for t in _types], runtime=[f"{t}.{_sync}" for t in _types],
        twin=f"a{_sync}",
    )
# CustomLLM's async methods fall back on the sync ones: awaiting them blocks just the same.
_CUSTOM_LLM = "llama_index.core.llms.custom.CustomLLM"
_add(
    "WFA110", "sdk-thread",
    "override acomplete / achat of the CustomLLM subclass with a real async implementation, or "
    "await asyncio.to_thread(llm.complete, prompt): CustomLLM's async methods call the sync ones "
    "on the loop thread",
    runtime=[f"{_CUSTOM_LLM}.acomplete", f"{_CUSTOM_LLM}.achat",
             f"{_CUSTOM_LLM}.astream_complete.<locals>.gen", f"{_CUSTOM_LLM}.astream_chat.<locals>.gen"],
)
# Query transforms that ask an LLM (HyDE, decompose); none has an async run.
_TRANSFORMS = "llama_index.core.indices.query.query_transform"
_LLM_TRANSFORMS = [f"{_TRANSFORMS}.base.{c}" for c in
                   ("HyDEQueryTransform", "DecomposeQueryTransform", "StepDecomposeQueryTransform")]
for _t in _LLM_TRANSFORMS:
    _ctor(_t, _t, _t.replace(".base.", "."))
_add(
    "WFA110", "sdk-thread",
    "await asyncio.to_thread(transform.run, query): a query transform has no async twin",
    methods=[f"{t}.run" for t in _LLM_TRANSFORMS],
    runtime=[f"{_TRANSFORMS}.base.BaseQueryTransform.run"],
)

_add(
    "WFA110", "sdk",
    "use openai.AsyncOpenAI (or AsyncAzureOpenAI) and await the same call",
    methods=["openai.OpenAI.*", "openai.AzureOpenAI.*"],
    runtime=["openai._base_client.SyncAPIClient.request"],
)
_add(
    "WFA110", "sdk",
    "use anthropic.AsyncAnthropic and await the same call",
    methods=["anthropic.Anthropic.*"],
    runtime=["anthropic._base_client.SyncAPIClient.request"],
)
_ctor("openai.OpenAI", "openai.OpenAI", "openai.Client")
_ctor("openai.AzureOpenAI", "openai.AzureOpenAI")
_ctor("anthropic.Anthropic", "anthropic.Anthropic", "anthropic.Client")
_add(
    "WFA110", "sdk",
    "use aioboto3 (or aiobotocore) and await the same call",
    methods=["boto3.client.*", "boto3.resource.*"],
    runtime=["botocore.client.BaseClient._make_api_call"],
)
_ctor("boto3.client", "boto3.client", "boto3.Session.client", "boto3.session.Session.client")
_ctor("boto3.resource", "boto3.resource", "boto3.Session.resource")

# --- More blocking APIs that real projects call, one block per library ------------------------
# Each block lists the static names, the names a Python stack shows for the released library
# (read from its source), and how values of its types are made. What the resolver needs beyond
# constructors is gathered in the _API_* tables, merged into the resolver's tables further down.
_API_ATTRIBUTE_TYPES: dict[str, str] = {}
_API_ITEM_TYPES: dict[str, str] = {}
_API_ANNOTATIONS: dict[str, str] = {}
# Types every method of which blocks, but whose results are plain data (or other types the
# constructors name), not another object of the type.
_API_PLAIN: set[str] = set()
# "Any method blocks" types whose own methods block but whose data attributes do not
# (container.attrs.get(...) is a dict lookup, container.logs() a request).
_API_DIRECT: set[str] = set()

# Standard library: starting a process, files opened another way, one more stat.
_add(
    "WFA104", "process",
    "await asyncio.create_subprocess_exec(...) (its Process has async wait/communicate) or "
    "await asyncio.to_thread(...)",
    # Popen() forks and execs before it returns; wait()/communicate() are listed above.
    funcs=["subprocess.Popen"],
    runtime=["subprocess.Popen.__init__", "subprocess.Popen._execute_child"],
)
_add(
    "WFA104", "process",
    "await asyncio.to_thread(webbrowser.open, url): it starts a browser process and waits "
    "for it to be launched",
    funcs=["webbrowser.open", "webbrowser.open_new", "webbrowser.open_new_tab"],
    runtime=["webbrowser.*"],
)
_add(
    "WFA102", "file",
    "await asyncio.to_thread(...) for the I/O (or aiofiles); make the step a plain def if it "
    "is all I/O",
    # os.path.ismount and sameopenfile stat the disk; os.path.join/normpath/relpath do not.
    funcs=["os.fdopen", "io.open_code", "os.path.ismount", "os.path.sameopenfile"],
    runtime=["os.fdopen", "posixpath.ismount", "genericpath.sameopenfile"],
)
_ctor(FILE_TYPE, "os.fdopen", "io.open_code")

# tempfile: every constructor but SpooledTemporaryFile's creates a file or a directory; a
# spooled file touches the disk only when it rolls over.
_add(
    "WFA102", "file",
    "await asyncio.to_thread(tempfile.TemporaryDirectory) (and cleanup() likewise), or make "
    "the step a plain def",
    funcs=["tempfile.TemporaryDirectory", "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile"],
    methods=["tempfile.TemporaryDirectory.cleanup", "tempfile.SpooledTemporaryFile.rollover"],
    runtime=["tempfile.TemporaryDirectory.__init__", "tempfile.TemporaryDirectory.cleanup",
             "tempfile.TemporaryDirectory._rmtree", "tempfile.NamedTemporaryFile",
             "tempfile.TemporaryFile", "tempfile.SpooledTemporaryFile.rollover"],
)
_ctor("tempfile.TemporaryDirectory", "tempfile.TemporaryDirectory")
_ctor("tempfile.SpooledTemporaryFile", "tempfile.SpooledTemporaryFile")

# importlib.metadata and runpy read (and runpy runs) files from the disk.
_METADATA_FUNCS = "version distribution distributions metadata entry_points files requires packages_distributions"
_add(
    "WFA102", "file",
    "read it once at start-up (a module-level constant) or await asyncio.to_thread(...): it "
    "scans the installed distributions on the disk",
    funcs=[f"{m}.{f}" for m in ("importlib.metadata", "importlib_metadata") for f in _METADATA_FUNCS.split()],
    runtime=["importlib.metadata.*", "importlib_metadata.*"],
)
_add(
    "WFA102", "file",
    "await asyncio.to_thread(runpy.run_path, ...): it reads, compiles and runs a file",
    funcs=["runpy.run_path", "runpy.run_module"],
    runtime=["runpy.run_path", "runpy.run_module"],
)

# Pillow: Image.open reads the file's header (the pixels on load()); save() writes. Both on an
# in-memory buffer (io.BytesIO) touch no disk.
_add(
    "WFA102", "file",
    "await asyncio.to_thread(...) for the image I/O (or make the step a plain def)",
    funcs=["PIL.Image.open"],
    methods=["PIL.Image.Image.save"],
    runtime=["PIL.Image.open", "PIL.Image.Image.save"],
    patch=False,
)
_ctor("PIL.Image.Image", "PIL.Image.Image", "PIL.Image.open", "PIL.Image.new",
      *(f"PIL.Image.Image.{m}" for m in "convert resize crop rotate copy transpose".split()))

# PyYAML: loading from or dumping to a file object reads or writes it; parsing a string is
# not I/O, so these block only on a file argument.
_YAML_LOADS = "load safe_load full_load unsafe_load load_all safe_load_all full_load_all unsafe_load_all"
_YAML_DUMPS = "dump safe_dump dump_all safe_dump_all"
_add(
    "WFA102", "file",
    "read the file in a thread and parse the text: await asyncio.to_thread(yaml.safe_load, fh) "
    "or await asyncio.to_thread(path.read_text) then yaml.safe_load(text)",
    funcs=[f"yaml.{f}" for f in (_YAML_LOADS + " " + _YAML_DUMPS).split()],
    runtime=["yaml.reader.Reader.update_raw", "yaml.emitter.Emitter.flush_stream"],
    patch=False,
)

# fsspec: fsspec.open gives an open file; a filesystem's data and metadata methods do I/O
# (over the network for remote ones, through a loop of its own for async implementations).
FSSPEC_FS = "fsspec.spec.AbstractFileSystem"
_FSSPEC_IO = (
    "open ls listdir cat cat_file cat_ranges put put_file get get_file exists rm rm_file delete "
    "info glob find walk du isdir isfile mkdir makedirs rmdir mv move copy cp pipe pipe_file "
    "read_text write_text read_bytes read_block upload download head tail touch size sizes "
    "modified created checksum expand_path"
)
_add(
    "WFA102", "file",
    "await asyncio.to_thread(...) for the I/O, or use the filesystem's async API "
    "(asynchronous=True and the awaited _ls/_cat_file/... methods)",
    funcs=["fsspec.open", "fsspec.open_files"],
    methods=_methods(FSSPEC_FS, _FSSPEC_IO),
    runtime=["fsspec.asyn.sync", "fsspec.core.OpenFile.open", "fsspec.core.OpenFile.__enter__",
             f"{FSSPEC_FS}.*", "fsspec.spec.AbstractBufferedFile.*",
             "fsspec.implementations.local.LocalFileSystem.*"],
)
_ctor(FILE_TYPE, "fsspec.open", f"{FSSPEC_FS}.open")
_ctor(FSSPEC_FS, "fsspec.filesystem", FSSPEC_FS, "fsspec.AbstractFileSystem",
      "fsspec.implementations.local.LocalFileSystem")

# GitPython. Opening a Repo reads .git from the disk (WFA102); nearly everything done with it
# runs the git executable (repo.git.*, clone_from, pull, push, is_dirty, iter_commits) or
# writes objects under .git (repo.index.commit): one process-level code for all of it (WFA104).
# Only the methods of the repository, its git command, index and remotes: the attributes of
# a commit or a head (repo.head.commit.message.strip()) are data.
GIT_REPO = "git.Repo"
_GIT_TYPES = {GIT_REPO: (), "git.cmd.Git": (f"{GIT_REPO}.git",), "git.IndexFile": (f"{GIT_REPO}.index",),
              "git.Remote": (f"{GIT_REPO}.remote", f"{GIT_REPO}.create_remote")}
_add(
    "WFA102", "file",
    "await asyncio.to_thread(git.Repo, path): opening a repository reads .git from the disk",
    funcs=[GIT_REPO, "git.repo.base.Repo"],
    runtime=["git.repo.base.Repo.__init__"],
)
_add(
    "WFA104", "process",
    "await asyncio.to_thread(...): GitPython runs the git executable and waits for it",
    methods=[f"{t}.*" for t in _GIT_TYPES],
    runtime=["git.cmd.Git.execute", "git.repo.base.Repo.clone_from", "git.repo.base.Repo._clone",
             "git.index.base.IndexFile.commit", "git.remote.Remote.*"],
)
_ctor(GIT_REPO, GIT_REPO, "git.repo.base.Repo", "git.repo.Repo", f"{GIT_REPO}.clone_from",
      f"{GIT_REPO}.init")
for _typ, _attrs in _GIT_TYPES.items():
    _API_PLAIN.add(_typ)
    _API_DIRECT.add(_typ)
    if _typ != GIT_REPO:
        _ctor(_typ, _typ)
        for _a in _attrs:
            if _a.endswith(("remote", "create_remote")):
                _ctor(_typ, _a)
            else:
                _API_ATTRIBUTE_TYPES[_a] = _typ
_ctor("git.cmd.Git", "git.Git", "git.cmd.Git")
_ctor("git.IndexFile", "git.index.IndexFile", "git.index.base.IndexFile")
_ctor("git.Remote", "git.remote.Remote")

# Docker SDK: the client talks to the daemon over HTTP for nearly every call, including its
# construction (API version negotiation). Collections and models are tracked apart so that
# client.containers.get(...) is a Container.
DOCKER = "docker.DockerClient"
_DOCKER_TYPES = {
    DOCKER: (DOCKER, "docker.from_env", "docker.client.from_env", "docker.client.DockerClient",
             "docker.from_context", "docker.client.from_context"),
    "docker.APIClient": ("docker.APIClient", "docker.api.APIClient", "docker.api.client.APIClient"),
    "docker.models.containers.ContainerCollection": (),
    "docker.models.containers.Container": tuple(
        f"docker.models.containers.ContainerCollection.{m}" for m in ("get", "run", "create")),
    "docker.models.images.ImageCollection": (),
    "docker.models.images.Image": tuple(
        f"docker.models.images.ImageCollection.{m}" for m in ("get", "pull", "load")),
}
_add(
    "WFA110", "sdk",
    # (aiodocker is no drop-in: remove() is delete(), run() takes a config dict, stop()'s
    # timeout is its HTTP timeout.)
    "await asyncio.to_thread(...), or move to aiodocker, whose calls differ (container.delete(), "
    "containers.run(config=...))",
    funcs=[DOCKER, "docker.from_env", "docker.client.from_env", "docker.client.DockerClient",
           "docker.APIClient", "docker.api.APIClient", "docker.api.client.APIClient"],
    methods=[f"{t}.*" for t in _DOCKER_TYPES],
    runtime=["docker.api.*", "docker.models.*", "docker.client.*"],
)
for _typ, _makers in _DOCKER_TYPES.items():
    _ctor(_typ, _typ, *_makers)
    _API_PLAIN.add(_typ)
    if _typ != DOCKER:  # client.networks.create(...): the client's other collections too
        _API_DIRECT.add(_typ)
for _attr, _coll in (("containers", "containers.ContainerCollection"), ("images", "images.ImageCollection")):
    _API_ATTRIBUTE_TYPES[f"{DOCKER}.{_attr}"] = f"docker.models.{_coll}"
_API_ITEM_TYPES["docker.models.containers.ContainerCollection.list"] = "docker.models.containers.Container"
_API_ITEM_TYPES["docker.models.images.ImageCollection.list"] = "docker.models.images.Image"

# Google API client: build() reads (or downloads) the discovery document; a Resource's
# methods only build requests, and execute() sends them.
GOOGLE_RESOURCE = "googleapiclient.discovery.Resource"
_add(
    "WFA110", "sdk",
    "await asyncio.to_thread(request.execute) (the client has no async API); build the "
    "service once, outside the step",
    funcs=["googleapiclient.discovery.build", "apiclient.discovery.build"],
    methods=[f"{GOOGLE_RESOURCE}.execute", "googleapiclient.http.HttpRequest.execute",
             "googleapiclient.http.HttpRequest.next_chunk", "googleapiclient.http.BatchHttpRequest.execute",
             "googleapiclient.http.MediaIoBaseDownload.next_chunk"],
    runtime=["googleapiclient.discovery.build", "googleapiclient.http.HttpRequest.execute",
             "googleapiclient.http.HttpRequest.next_chunk", "googleapiclient.http.BatchHttpRequest.execute",
             "googleapiclient.http.MediaIoBaseDownload.next_chunk"],
)
_ctor(GOOGLE_RESOURCE, "googleapiclient.discovery.build", "apiclient.discovery.build")
_ctor("googleapiclient.http.HttpRequest", "googleapiclient.http.HttpRequest")
_ctor("googleapiclient.http.BatchHttpRequest", "googleapiclient.http.BatchHttpRequest",
      f"{GOOGLE_RESOURCE}.new_batch_http_request")
_ctor("googleapiclient.http.MediaIoBaseDownload", "googleapiclient.http.MediaIoBaseDownload")
_API_ANNOTATIONS["googleapiclient._apis.discovery.Resource"] = GOOGLE_RESOURCE

# Azure Blob Storage, sync clients (the azure.storage.blob.aio ones are async and are other
# names). Every call sends a request through the sync pipeline, except the factories below.
AZURE_BLOB = "azure.storage.blob"
_AZURE_TYPES = ("BlobServiceClient", "ContainerClient", "BlobClient", "StorageStreamDownloader",
                "BlobLeaseClient")
_add(
    "WFA110", "sdk",
    "use the async client of azure.storage.blob.aio and await the same call",
    funcs=[f"{AZURE_BLOB}.upload_blob_to_url", f"{AZURE_BLOB}.download_blob_from_url"],
    methods=[f"{AZURE_BLOB}.{t}.*" for t in _AZURE_TYPES],
    runtime=["azure.core.pipeline._base.Pipeline.run",
             *(f"{AZURE_BLOB}._download.StorageStreamDownloader.{m}" for m in
               "readall readinto chunks content_as_bytes content_as_text download_to_stream".split()),
             f"{AZURE_BLOB}._upload_helpers.*", f"{AZURE_BLOB}.upload_blob_to_url",
             f"{AZURE_BLOB}.download_blob_from_url"],
)
for _t in _AZURE_TYPES:
    _ctor(f"{AZURE_BLOB}.{_t}", f"{AZURE_BLOB}.{_t}", *(f"{AZURE_BLOB}.{_t}.{f}" for f in (
        "from_connection_string", "from_container_url", "from_blob_url", "from_account_url")))
    _API_PLAIN.add(f"{AZURE_BLOB}.{_t}")
    _API_DIRECT.add(f"{AZURE_BLOB}.{_t}")
_ctor(f"{AZURE_BLOB}.ContainerClient", f"{AZURE_BLOB}.BlobServiceClient.get_container_client")
_ctor(f"{AZURE_BLOB}.BlobClient", f"{AZURE_BLOB}.BlobServiceClient.get_blob_client",
      f"{AZURE_BLOB}.ContainerClient.get_blob_client")
_ctor(f"{AZURE_BLOB}.StorageStreamDownloader", f"{AZURE_BLOB}.BlobClient.download_blob",
      f"{AZURE_BLOB}.ContainerClient.download_blob")
_ctor(f"{AZURE_BLOB}.BlobLeaseClient", f"{AZURE_BLOB}.BlobClient.acquire_lease",
      f"{AZURE_BLOB}.ContainerClient.acquire_lease")

# httpx2 (a maintained continuation of httpx) has httpx's layout and sync API. Client.close()
# is left out here as for httpx and requests.Session: it closes the pooled sockets
# (httpcore's stream close is socket.close(); HTTP/2 at most queues a GOAWAY frame) and waits
# for no reply.
_add(
    "WFA101", "http",
    "use httpx2.AsyncClient (or aiohttp) and await the same call, or await asyncio.to_thread(...)",
    funcs=[f"httpx2.{v}" for v in (_HTTP_VERBS + " stream query").split()],
    methods=_methods("httpx2.Client", _HTTP_VERBS + " send stream query"),
    runtime=["httpx2._api.*", "httpx2._client.Client.*"],
)
_ctor("httpx2.Client", "httpx2.Client")

# urllib3's pools by every public name an annotation may use.
_API_ANNOTATIONS.update({
    **{n: "urllib3.PoolManager" for n in (
        "urllib3.ProxyManager", "urllib3.poolmanager.PoolManager", "urllib3.poolmanager.ProxyManager",
        "urllib3.request.RequestMethods", "urllib3._request_methods.RequestMethods")},
    **{n: "urllib3.HTTPConnectionPool" for n in (
        "urllib3.HTTPSConnectionPool", "urllib3.connectionpool.ConnectionPool",
        "urllib3.connectionpool.HTTPConnectionPool", "urllib3.connectionpool.HTTPSConnectionPool")},
})
_ctor("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.proxy_from_url")

# boto3: get_waiter and get_paginator only build objects; waiting polls the service, and a
# paginator's pages are requested as they are iterated (the paginate() call marks where).
_add(
    "WFA110", "sdk",
    "use aioboto3 (or aiobotocore) and await the same call, or await asyncio.to_thread(...)",
    methods=["botocore.waiter.Waiter.wait", "botocore.paginate.Paginator.paginate",
             "botocore.paginate.PageIterator.build_full_result"],
    runtime=["botocore.waiter.Waiter.wait", "botocore.paginate.PageIterator.__iter__",
             "botocore.paginate.PageIterator.build_full_result"],
)
_ctor("botocore.waiter.Waiter", "boto3.client.get_waiter", "botocore.waiter.Waiter")
_ctor("botocore.paginate.Paginator", "boto3.client.get_paginator", "botocore.paginate.Paginator")
_ctor("botocore.paginate.PageIterator", "botocore.paginate.Paginator.paginate")

# Methods of "any method blocks" types that do no I/O: closing a client drops its pooled
# connections (a socket close does not wait), and the factories only build objects.
_QUIET_METHODS: dict[str, frozenset[str]] = {
    "boto3.client": frozenset({"close", "can_paginate", "get_paginator", "get_waiter",
                               "generate_presigned_url", "generate_presigned_post"}),
    DOCKER: frozenset({"close"}),
    "docker.APIClient": frozenset({"close"}),
    GIT_REPO: frozenset({"close"}),
    **{f"{AZURE_BLOB}.{t}": frozenset({"close", "get_container_client", "get_blob_client",
                                        "from_connection_string", "from_container_url",
                                        "from_blob_url", "from_account_url"})
       for t in _AZURE_TYPES},
}
# "Any method blocks" types reached only through their own methods, not attribute chains.
DIRECT_METHOD_TYPES: frozenset[str] = frozenset(_API_DIRECT)
# Types whose other method calls build another value of the same type (a Resource's
# service.files().list(...) is a request ready to execute()).
CHAIN_TYPES: frozenset[str] = frozenset({GOOGLE_RESOURCE})
# Calls that block, or build a value that blocks, only for some arguments:
# qualname -> (condition, position, keyword) of the argument that decides.
# "file": only when that argument is an open file (parsing a string is not I/O);
# "not-memory": unless that argument is an in-memory buffer (io.BytesIO, io.StringIO);
# "not-false": unless it is False (queue get/put with block=False raise at once, never wait);
# "bounded": a queue built with a maxsize > 0 (the default, 0, is unbounded);
# "on-disk": unless it names an SQLite database in memory (":memory:", a memory URI with uri=True);
# "not-data-url": unless it is a "data:" URL, which urllib decodes without any network.
# The last four are decided by a literal argument alone; anything else keeps the finding.
ARGUMENT_CONDITIONS: dict[str, tuple[str, int, str]] = {
    **{f"yaml.{f}": ("file", 0, "stream") for f in _YAML_LOADS.split()},
    **{f"yaml.{f}": ("file", 1, "stream") for f in _YAML_DUMPS.split()},
    "PIL.Image.open": ("not-memory", 0, "fp"),
    "PIL.Image.Image.save": ("not-memory", 0, "fp"),
    **{f"{q}.get": ("not-false", 0, "block") for q in ("queue.Queue", UNBOUNDED_QUEUE, "multiprocessing.Queue")},
    **{f"{q}.put": ("not-false", 1, "block") for q in ("queue.Queue", "multiprocessing.Queue")},
    **dict.fromkeys(_QUEUES, ("bounded", 0, "maxsize")),
    "sqlite3.connect": ("on-disk", 0, "database"),
    "urllib.request.urlopen": ("not-data-url", 0, "url"),
    "fsspec.filesystem": ("not-memory-fs", 0, "protocol"),
    "fsspec.open": ("not-memory-url", 0, "urlpath"),
}
# Constructors and factories whose arguments can rule out what makes their value block (an
# ARGUMENT_CONDITIONS entry each): the type they build then, None for an untracked value
# (urlopen("data:...") answers from memory).
QUIET_BUILDS: dict[str, str | None] = {
    **dict.fromkeys(_QUEUES, UNBOUNDED_QUEUE),
    "sqlite3.connect": MEMORY_DB,
    "urllib.request.urlopen": None,
    # fsspec's "memory" filesystem keeps its files in a dict of the process.
    "fsspec.filesystem": None,
    "fsspec.open": None,
}
# Each quieter type those builds give -> the type it is a case of: a name bound to both (an
# unbounded queue here, a bounded one there) holds the wider one.
WIDER_TYPES: dict[str, str] = {UNBOUNDED_QUEUE: "queue.Queue", MEMORY_DB: "sqlite3.Connection"}



def memory_database(database: object, uri: object = False) -> bool:
    """``sqlite3.connect(database, uri=uri)`` opens a database in memory: ``":memory:"``, or
    with ``uri=True`` a ``file:`` URI whose path is ``:memory:`` or that says ``mode=memory``.
    Without ``uri=True`` a ``file:...`` name is a file of that name."""
    if not isinstance(database, str):
        return False
    if database == ":memory:":
        return True
    if uri is not True or not database.startswith("file:"):
        return False
    path, _, query = database[5:].partition("#")[0].partition("?")
    return path == ":memory:" or parse_qs(query).get("mode", [""])[-1] == "memory"


def data_url(url: object) -> bool:
    """``urlopen(url)`` answers a ``data:`` URL (a string or a ``Request`` for one) from the
    URL itself."""
    url = getattr(url, "full_url", url)
    return isinstance(url, str) and url[:5].lower() == "data:"


# The ARGUMENT_CONDITIONS decided by the argument's value alone, which strict mode can read
# from the real call as the analyzer reads a literal: condition -> whether the call blocks.
VALUE_CONDITIONS: dict[str, Callable[[object, Mapping[str, object]], bool]] = {
    "on-disk": lambda database, given: not memory_database(database, given.get("uri", False)),
    "not-data-url": lambda url, given: not data_url(url),
    "not-memory-fs": lambda protocol, given: protocol != "memory",
    "not-memory-url": lambda url, given: not (isinstance(url, str) and url.startswith("memory://")),
}
# The other arguments those conditions read, by keyword and position (sqlite3.connect's uri).
CONDITION_EXTRAS: dict[str, tuple[tuple[str, int], ...]] = {"on-disk": (("uri", 7),)}


def quiet_call(name: str, args: tuple[object, ...], kwargs: Mapping[str, object]) -> bool:
    """Whether the real arguments of a call of a module-level callable ``name`` rule its
    blocking out (``sqlite3.connect(":memory:")``); False when no value condition says so."""
    condition = ARGUMENT_CONDITIONS.get(name)
    if condition is None or condition[0] not in VALUE_CONDITIONS:
        return False
    kind, position, keyword = condition
    if keyword in kwargs:
        value = kwargs[keyword]
    elif len(args) > position:
        value = args[position]
    else:
        return False
    given = {k: kwargs[k] if k in kwargs else args[i] if len(args) > i else None
             for k, i in CONDITION_EXTRAS.get(kind, ())}
    return not VALUE_CONDITIONS[kind](value, given)


ENTRIES: tuple[Entry, ...] = tuple(_ENTRIES)

# --- Matching ---------------------------------------------------------------------------------
_EXACT: dict[str, Entry] = {}
_ANY_METHOD: dict[str, Entry] = {}  # "redis.Redis" -> entry for "redis.Redis.*"
# method -> [(type prefix, entry)]: "complete" -> [("llama_index.llms.", entry), ...]
_PATTERNS: dict[str, list[tuple[str, Entry]]] = {}
_RUNTIME_EXACT: dict[str, Entry] = {}
_RUNTIME_PREFIX: list[tuple[str, Entry]] = []

for _e in ENTRIES:
    for _q in _e.qualnames:
        if _q.endswith(".*"):
            _ANY_METHOD.setdefault(_q[:-2], _e)
        elif ".*." in _q:
            _pre, _, _post = _q.partition(".*.")
            _PATTERNS.setdefault(_post, []).append((_pre + ".", _e))
        else:
            _EXACT.setdefault(_q, _e)
    for _r in _e.runtime_names:
        if _r.endswith(".*"):
            _RUNTIME_PREFIX.append((_r[:-1], _e))
        else:
            _RUNTIME_EXACT.setdefault(_r, _e)
# Longest prefixes first so the most specific runtime entry wins.
_RUNTIME_PREFIX.sort(key=lambda p: -len(p[0]))

# The last component of every static name: a cheap filter for the analyzer's pre-pass.
CALL_NAMES: frozenset[str] = frozenset(
    q.rpartition(".")[2] for e in ENTRIES for q in e.qualnames if not q.endswith(".*")
)
# Codes whose calls belong on a small dedicated executor (CPU work), not asyncio's default pool.
CPU_CODES: frozenset[str] = frozenset(e.code for e in ENTRIES if e.category == "cpu")
# Directory scans that are generators: the call does no I/O, iterating the result does, so the
# way out is to collect the items in a thread (``to_thread(list, root.glob("*"))``).
# (``os.scandir`` opens the directory at the call already: not one of them.)
LAZY_SCANS: frozenset[str] = frozenset({"pathlib.Path.glob", "pathlib.Path.rglob", "pathlib.Path.iterdir",
                                        "pathlib.Path.walk", "os.walk", "glob.iglob"})

# Top-level modules the catalog knows about (a file importing none of them needs a closer
# look only for builtins such as open/input).
ROOT_MODULES: frozenset[str] = frozenset(
    q.split(".", 1)[0] for e in ENTRIES for q in e.qualnames if not q.startswith("builtins.")
) | frozenset(c.split(".", 1)[0] for c in CONSTRUCTORS)


def _method_roots() -> dict[str, frozenset[str]]:
    """For the pre-pass: method name -> top-level modules whose constructors build an
    instance that has it."""
    type_roots: dict[str, set[str]] = {}
    for ctor, typ in CONSTRUCTORS.items():
        type_roots.setdefault(typ, set()).add(ctor.partition(".")[0])
    out: dict[str, set[str]] = {}
    for e in ENTRIES:
        for q in e.qualnames:
            owner, _, meth = q.rpartition(".")
            if meth == "*" or ".*." in q:
                continue
            for root in type_roots.get(owner, ()):
                out.setdefault(meth, set()).add(root)
    for meth in LLAMA_TWINS:
        out.setdefault(meth, set()).add("llama_index")
    return {k: frozenset(v) for k, v in out.items()}


METHOD_ROOTS = _method_roots()


def match_qualname(qualname: str) -> Entry | None:
    """The entry a statically resolved qualified name belongs to, or None."""
    e = _EXACT.get(qualname)
    if e is not None:
        return e
    if "." not in qualname:
        return _EXACT.get("builtins." + qualname)
    owner, _, method = qualname.rpartition(".")
    e = _ANY_METHOD.get(owner)
    if e is not None:
        return None if method in _QUIET_METHODS.get(owner, ()) else e
    for pre, entry in _PATTERNS.get(method, ()):
        if owner.startswith(pre):
            return entry
    return None


def match_runtime_frame(module: str, qualname: str) -> Entry | None:
    """The entry for a Python frame (``f_globals['__name__']``, ``f_code.co_qualname``)."""
    full = f"{module}.{qualname}"
    e = _RUNTIME_EXACT.get(full)
    if e is not None:
        return e
    for prefix, entry in _RUNTIME_PREFIX:
        if full.startswith(prefix):
            return entry
    return None


def module_level_callables() -> list[tuple[str, str, Entry]]:
    """(module, attribute, entry) of plain module-level blocking callables.

    Builtins (``open``, ``input``) are left out: patching them would catch every library's
    own use; the runtime classifies them from the caller's source line instead.
    """
    out: list[tuple[str, str, Entry]] = []
    seen: set[tuple[str, str]] = set()
    for e in ENTRIES:
        for module, attr in e.module_funcs:
            if (module, attr) not in seen:
                seen.add((module, attr))
                out.append((module, attr, e))
    return out


def is_any_method_type(typ: str) -> bool:
    """True for types where every method call blocks (``redis.Redis``, ``openai.OpenAI``)."""
    return typ in _ANY_METHOD


def constructed_type(qualname: str) -> str | None:
    """The type of the value a call to ``qualname`` returns, when the catalog knows it."""
    return CONSTRUCTORS.get(qualname)


# What values the resolver follows beyond constructors: attributes that hold a tracked type,
# iterators whose items are one, types whose ``/`` yields their own type, and annotations that
# name a tracked type under another name.
ATTRIBUTE_TYPES: dict[str, str] = {"pathlib.Path.parent": "pathlib.Path", **_API_ATTRIBUTE_TYPES}
ITEM_TYPES: dict[str, str] = {**{f"pathlib.Path.{m}": "pathlib.Path" for m in ("glob", "rglob", "iterdir")},
                              **_API_ITEM_TYPES}
DIVISION_TYPES: frozenset[str] = frozenset({"pathlib.Path"})
# Types every method of which blocks but returns plain data (a boto3 client's dict responses),
# not another object of the type.
PLAIN_RESULT_TYPES: frozenset[str] = frozenset({"boto3.client", *_API_PLAIN})
# Only the concrete classes open() returns say "a file on disk": an abstract stream type
# (typing.IO / BinaryIO / TextIO, io.IOBase, io.BufferedIOBase, io.TextIOBase) is just as
# often an io.BytesIO, a StringIO or an upload held in memory, so it is not tracked.
ABSTRACT_ANNOTATIONS: frozenset[str] = frozenset({FILE_TYPE})
_ANNOTATION_TYPES: dict[str, str] = {
    **{f"io.{t}": FILE_TYPE for t in ("TextIOWrapper", "BufferedReader", "BufferedWriter", "BufferedRandom",
                                      "FileIO")},
    "botocore.client.BaseClient": "boto3.client",
    "boto3.resources.base.ServiceResource": "boto3.resource",
    **_API_ANNOTATIONS,
}


def annotated_type(name: str) -> str | None:
    """The tracked type a parameter or field annotated with class ``name`` holds, if any:
    a catalog type, a file class of ``io``, or a boto3 client or resource as the
    ``mypy_boto3_*`` stubs name them (``mypy_boto3_s3.S3Client``)."""
    typ = _ANNOTATION_TYPES.get(name) or CONSTRUCTORS.get(name)
    if typ is not None or not name.startswith("mypy_boto3_"):
        return typ
    last = name.rpartition(".")[2]
    if last.endswith("Client"):
        return "boto3.client"
    if last.endswith("ServiceResource"):
        return "boto3.resource"
    return None


def _sources(types: Iterable[str]) -> frozenset[str]:
    """Every dotted name through which the resolver can come to a value of one of ``types``
    (each with all its prefixes): the types themselves, and the constructors, factories,
    annotations, attributes and iterators that give one, with whatever gives their owners.
    A module that imports none of these names holds no such value of its own making."""
    tables: tuple[Mapping[str, str | None], ...] = (
        CONSTRUCTORS, _ANNOTATION_TYPES, ATTRIBUTE_TYPES, ITEM_TYPES, QUIET_BUILDS, WIDER_TYPES)
    needed = set(types)
    found = set(needed)
    grew = True
    while grew:
        grew = False
        for table in tables:
            for name, typ in table.items():
                if typ in needed and name not in found:
                    # ("psycopg2.connection.cursor" gives a cursor once a connection is had.)
                    found.add(name)
                    needed.update((name, name.rpartition(".")[0]))
                    grew = True
    out: set[str] = set()
    for name in found | needed:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    out.discard("")
    return frozenset(out)


# For the pre-pass: the imported names that may bring a receiver that pickles what it is
# handed (a process pool, a Dask cluster).
PICKLING_SOURCES: frozenset[str] = _sources(PICKLING_RECEIVERS)
# ...and those that may bring an instance every method of which blocks (an Engine, a boto3
# client): ``from sqlalchemy import Table`` or ``from openai import AsyncOpenAI`` bring none.
STICKY_SOURCES: frozenset[str] = _sources(_ANY_METHOD)
