"""Selectors: code profiled because it is named, not decorated.

One syntax for every entry point (``python -m memline -p``, the API's
``add_function("...")`` and ``add_module``, ``%mprun -m``); docs/selectors.md
has it.  A selector names a module (and, for a package, every module under
it), one function or class of a module, or a file (or a function of it).

Code objects are what is profiled, not function objects: a module imported
after the selection was made has its code registered before it runs (a
finder at the head of sys.meta_path patches the module's loader for that one
import), so ``from mod import func``, done before or after, calls profiled
code, and calls made while the module is imported are profiled too.  A
module that was already imported has its functions found through its
namespace and classes instead.  Only registered code is traced (the 3.11
frame gate and sys.monitoring see nothing else), so a selection costs
nothing to the code it does not select.
"""

import functools
import os
import sys
import threading
import types
import weakref

__all__ = ["Selection", "add_selector", "add_module"]

_CO_NEWLOCALS = 0x0002  # set on function code, not on a class or module body
_SYNTAX = ("expected pkg.module, pkg.module:func, pkg.module:Class.method, "
           "path/to/file.py or path/to/file.py:func")


def _dotted(text):
    return bool(text) and all(part.isidentifier() for part in text.split("."))


class _Target:
    """One parsed selector.  kind is "module" (module: a dotted name, which
    also selects the modules under it when it is a package) or "file" (path:
    an absolute path without symbolic links).  qualname, when given, keeps to
    that function or class (and the methods of that class).  matched is set
    once some code of the target was profiled."""

    __slots__ = ("text", "kind", "module", "path", "qualname", "matched")

    def __init__(self, text, kind, module=None, path=None, qualname=None):
        self.text, self.kind, self.module, self.path = text, kind, module, path
        self.qualname = qualname
        self.matched = False

    def wants_module(self, name):
        """Whether the module called name may hold code of this target."""
        if self.kind != "module":
            return False
        if self.qualname is not None:
            return name == self.module
        return name == self.module or name.startswith(self.module + ".")

    def wants(self, modname, filename):
        return (self.wants_module(modname) if self.kind == "module"
                else filename is not None and _real(filename) == self.path)

    def wants_name(self, qualname):
        q = self.qualname
        return q is None or qualname == q or qualname.startswith(q + ".")


def parse(text):
    """The _Target of one selector string.  Raises ValueError, with a
    one-line message naming the selector, when it cannot be parsed or names
    a file that does not exist."""
    if not isinstance(text, str):
        raise ValueError("a selector is a str, not %s" % type(text).__name__)
    if not text or text.strip() != text or any(c.isspace() for c in text):
        raise ValueError("cannot parse selector %r: %s" % (text, _SYNTAX))
    at = text.rfind(".py:")
    if "/" in text or text.endswith(".py") or at >= 0:
        path, qualname = (text[:at + 3], text[at + 4:]) if at >= 0 else (text, None)
        if not path.endswith(".py") or (qualname is not None and not _dotted(qualname)):
            raise ValueError("cannot parse selector %r: %s" % (text, _SYNTAX))
        if not os.path.isfile(path):
            raise ValueError("selector %r: no such file: %r" % (text, path))
        return _Target(text, "file", path=_real(path), qualname=qualname)
    module, sep, qualname = text.partition(":")
    if not _dotted(module) or (sep and not _dotted(qualname)):
        raise ValueError("cannot parse selector %r: %s" % (text, _SYNTAX))
    return _Target(text, "module", module=module, qualname=qualname if sep else None)


_realpaths = {}


def _real(filename):
    """filename made absolute, without symbolic links (cached: a selection
    compares every code object's file with its targets)."""
    r = _realpaths.get(filename)
    if r is None:
        r = _realpaths[filename] = os.path.realpath(os.path.abspath(filename))
    return r


def _code_functions(code, prefix=""):
    """(qualname, code) of each function defined in code's body, and in the
    bodies of the classes defined there, recursively.  Comprehensions,
    lambdas and generator expressions (names in <>) belong to the code that
    runs them, as inner functions do (the profiler registers nested code with
    its function)."""
    for c in code.co_consts:
        if not isinstance(c, types.CodeType) or c.co_name.startswith("<"):
            continue
        qualname = getattr(c, "co_qualname", prefix + c.co_name)  # 3.11+ has it
        if c.co_flags & _CO_NEWLOCALS:
            yield qualname, c
        else:  # a class body: its methods
            yield from _code_functions(c, qualname + ".")


def _unwrapped(value):
    """The plain functions under a namespace entry: a function (and what
    functools.wraps says it wraps), a staticmethod's or classmethod's, a
    property's accessors, a cached_property's or partialmethod's.  Reads
    only what those types define (no getattr on arbitrary objects, whose
    __getattr__ could do anything)."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        found = []
        for f in (value.fget, value.fset, value.fdel):
            found.extend(_unwrapped(f))
        return found
    if isinstance(value, (functools.cached_property, functools.partialmethod)):
        value = value.func
    found = []
    while isinstance(value, types.FunctionType) and len(found) < 16:  # bounded: cycles
        found.append(value)
        value = value.__dict__.get("__wrapped__")
    return found


def _namespace_functions(module):
    """(qualname, code) of the functions defined in module's file that its
    namespace and classes hold, for a module that already ran."""
    filename = getattr(module, "__file__", None)
    if not isinstance(filename, str):
        return
    filename = _real(filename)
    seen, classes = set(), set()

    def visit(namespace):
        for value in list(namespace.values()):
            for f in _unwrapped(value):
                code = f.__code__
                if code not in seen and _real(code.co_filename) == filename:
                    seen.add(code)
                    yield f.__qualname__, code
            if (isinstance(value, type) and id(value) not in classes and
                    value.__dict__.get("__module__") == module.__name__):
                classes.add(id(value))
                yield from visit(vars(value))

    try:
        yield from visit(vars(module))
    except TypeError:  # a module object without a __dict__
        return


def _span(code):
    """(first line, number of lines) of code's source block, as @profile
    takes it (inspect.getsourcelines), or None when the source cannot be
    found.  inspect tokenizes each block, which makes selecting a big
    package slow to import, so on 3.11+ a function's block is read from its
    code's positions instead: the same blocks for each of the 16,983
    functions of the stdlib, pytest, numpy and pandas modules compared
    (3.11; 16,952 on 3.12), in a tenth of the time (0.8 s against 8 s)."""
    import linecache
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno
    if (hasattr(code, "co_positions") and 1 <= first <= len(lines) and
            lines[first - 1].lstrip().startswith(("def ", "async def ", "@"))):
        return first, _block_end(code, lines) - first + 1
    import inspect
    try:
        block, first = inspect.getsourcelines(code)
    except (OSError, TypeError, IndexError, SyntaxError):
        return None
    return (first, len(block)) if first >= 1 and block else None


def _block_end(code, lines):
    """The last line of a function's block: the last line any
    instruction of it (or of the code nested in it) spans, then the lines
    after it (and after its def line) that are indented deeper than its def
    (a body of a docstring or pass has no instruction there) or close its
    signature's bracket."""
    first = last = code.co_firstlineno
    stack = [code]
    while stack:
        c = stack.pop()
        for _, end, _, _ in c.co_positions():
            if end is not None and end > last:
                last = end
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    head = lines[first - 1]
    base = len(head) - len(head.lstrip(" \t"))
    # A decorated function's body starts after its def line (a body without
    # instructions of its own may carry no later position).
    for i in range(first - 1, len(lines)):
        text = lines[i]
        if (len(text) - len(text.lstrip(" \t")) == base and
                text.lstrip().startswith(("def ", "async def "))):
            last = max(last, i + 1)
            break
    for i in range(last, len(lines)):
        text = lines[i]
        stripped = text.strip()
        if not stripped:
            continue
        if len(text) - len(text.lstrip(" \t")) <= base and not stripped.startswith((")", "]", "}")):
            break
        last = i + 1
    return min(last, len(lines))


class Selection:
    """What a list of selectors selects, attached to one or more
    LineProfilers.  script names the program's own file: every function in
    it is selected; script_lines adds its top-level code (a table called
    <module>).  Raises ValueError (one line naming the selector) when a
    selector cannot be parsed."""

    def __init__(self, targets, script=None, script_lines=False):
        self.targets = [parse(t) for t in targets]
        self._script = None
        if script is not None or script_lines:
            if script is None:
                raise ValueError("script_lines needs the script's path")
            self._script = _Target(script, "file", path=_real(script))
        self._script_lines = bool(script_lines)
        self._profs = []  # weak references to the profilers attached
        self._lock = threading.Lock()

    def spec(self):
        """The selector strings, file paths made absolute: what a child
        process (with another working directory) can parse again."""
        out = []
        for t in self.targets:
            if t.kind == "file":
                out.append(t.path + ("" if t.qualname is None else ":" + t.qualname))
            else:
                out.append(t.text)
        return out

    def unmatched(self):
        """The selector strings that have matched nothing so far."""
        return [t.text for t in self.targets if not t.matched]

    def attach(self, prof):
        """Profiles with prof what matches now (modules already imported)
        and what matches in modules imported from now on.  It does not turn
        prof on: lines are charged while prof is enabled (python -m memline
        enables it for the whole run when there are selectors)."""
        self._profs.append(weakref.ref(prof))
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType):
                self._add_namespace(name, module, [prof])
        _Finder.install(self)

    def add_main_code(self, code, modname="__main__"):
        """Profiles what matches in code, the program's own top-level code,
        before it runs: its functions (--script, or a file selector naming
        it), and with script_lines the top-level lines themselves, whose
        table (<module>) comes first."""
        targets = self._matching(modname, code.co_filename)
        functions = list(_code_functions(code)) if targets else []
        if self._script_lines and self._script.wants(modname, code.co_filename):
            nlines = _file_lines(code.co_filename)
            # The functions selected get tables of their own, not lines in <module>.
            skip = {c for q, c in functions if any(t.wants_name(q) for t in targets)}
            for prof in self._live() if nlines else ():
                prof._add_code(code, "<module>", 1, nlines, toplevel=False, skip=skip)
        if functions:
            self._register(functions, targets, self._live())

    # ---- matching ----

    def _all_targets(self):
        return self.targets + ([self._script] if self._script is not None else [])

    def wants_module(self, name):
        """Whether the import of the module called name must be watched (a
        file selector: every import, whose file is known only then).  The
        script is not imported: add_main_code sees its code."""
        return any(t.kind == "file" or t.wants_module(name) for t in self.targets)

    def _matching(self, modname, filename):
        return [t for t in self._all_targets() if t.wants(modname, filename)]

    def _live(self):
        profs = [r() for r in self._profs]
        return [p for p in profs if p is not None]

    def add_code(self, code, modname):
        """Registers the matching functions of a module's code before it
        runs.  Returns the code objects added."""
        targets = self._matching(modname, code.co_filename)
        return self._register(_code_functions(code), targets, self._live()) if targets else []

    def _add_namespace(self, modname, module, profs):
        targets = self._matching(modname, getattr(module, "__file__", None))
        if targets:
            self._register(_namespace_functions(module), targets, profs)

    def _register(self, functions, targets, profs):
        added = []
        for qualname, code in functions:
            hits = [t for t in targets if t.wants_name(qualname)]
            if not hits:
                continue
            span = _span(code)
            if span is None:
                continue
            for prof in profs:
                prof._add_code(code, qualname, span[0], span[1])
            with self._lock:
                for t in hits:
                    t.matched = True
            added.append(code)
        return added


def _file_lines(filename):
    import linecache
    return len(linecache.getlines(filename))


class _Finder:
    """The meta path finder that watches imports for the selections: for a
    module one of them wants, it asks the finders behind it for the spec and
    has the loader hand the module's code to the selections before running
    it.  Installed once, at the head of sys.meta_path; selections are held
    weakly through their profilers (a dead profiler's selection is dropped)."""

    _instance = None
    _install_lock = threading.Lock()

    def __init__(self):
        self.selections = []
        self.local = threading.local()

    @classmethod
    def install(cls, selection):
        with cls._install_lock:
            if cls._instance is None:
                cls._instance = cls()
            finder = cls._instance
            if selection not in finder.selections:
                finder.selections.append(selection)
            if finder not in sys.meta_path:
                sys.meta_path.insert(0, finder)

    def _alive(self):
        self.selections = [s for s in self.selections if s._live()]
        return self.selections

    def find_spec(self, name, path=None, target=None):
        if getattr(self.local, "busy", False):
            return None
        wanting = [s for s in self._alive() if s.wants_module(name)]
        if not wanting:
            return None
        self.local.busy = True
        try:
            spec = self._find_behind(name, path, target)
        finally:
            self.local.busy = False
        if spec is not None and _patchable(spec):
            _patch_loader(spec.loader, wanting)
        return spec

    def _find_behind(self, name, path, target):
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                return spec
        return None

    def invalidate_caches(self):
        pass


def _patchable(spec):
    origin = spec.origin
    return (spec.loader is not None and isinstance(origin, str) and origin.endswith(".py")
            and hasattr(spec.loader, "exec_module"))


def _standard_exec(loader):
    """Whether loader runs a module as importlib's source loaders do
    (get_code, then exec in the module's namespace)."""
    try:
        from importlib import _bootstrap_external as ext
    except ImportError:
        return False
    return (getattr(type(loader), "exec_module", None) is ext._LoaderBasics.exec_module
            and hasattr(loader, "get_code"))


def _patch_loader(loader, selections):
    """Makes loader's next exec_module hand the module's code to selections
    before running it (an attribute of that loader object, removed at once).
    A loader that runs modules its own way (pytest's assertion rewriter)
    runs it, then the selections read the module's namespace."""
    if "exec_module" in vars(loader):
        return  # another selection's patch is there already
    standard = _standard_exec(loader)

    def exec_module(module):
        try:
            del loader.exec_module
        except AttributeError:
            pass
        name = module.__name__
        if standard:
            code = loader.get_code(name)
            if code is not None:
                for s in selections:
                    s.add_code(code, name)
                exec(code, module.__dict__)
                return
        loader.exec_module(module)
        for s in selections:
            s._add_namespace(name, module, s._live())

    loader.exec_module = exec_module


def _selection_of(prof, text_or_texts):
    sel = Selection(text_or_texts)
    sel.attach(prof)
    return sel


def add_selector(prof, text):
    """LineProfiler.add_function(str): profiles what the selector names,
    now and in modules imported later.  Raises ValueError when it cannot be
    parsed."""
    _selection_of(prof, [text])


def add_module(prof, module):
    """LineProfiler.add_module(module or name): every function of the module
    (for a package, of every module under it), now and as they are imported."""
    if isinstance(module, str):
        _selection_of(prof, [module])
        return
    if not isinstance(module, types.ModuleType):
        raise TypeError("add_module takes a module or a selector string, not %s"
                        % type(module).__name__)
    sel = _selection_of(prof, [module.__name__])
    if sys.modules.get(module.__name__) is not module:
        sel._add_namespace(module.__name__, module, [prof])
