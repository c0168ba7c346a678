"""The import hook behind agent/workerlens_autostart/sitecustomize.py (WORKERLENS=1, no install()).

A meta-path finder that waits for `celery.signals` to be imported by Celery itself, lets it load,
then connects `worker_init` (fires only in worker processes) and removes itself. Nothing is
imported early and nothing happens in processes that never import Celery.
"""
import sys

_TARGET = "celery.signals"


class _CeleryHook(object):
    def find_spec(self, name, path=None, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)  # one shot: find the real spec with the normal finders
        try:
            import importlib.util
            spec = importlib.util.find_spec(name)
        except Exception:
            return None
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_connect(module):
            exec_module(module)
            try:
                from .celery import on_worker_init
                module.worker_init.connect(on_worker_init, weak=False)
            except Exception as e:
                sys.stderr.write("workerlens: could not hook Celery: %s\n" % e)
        spec.loader.exec_module = exec_and_connect
        return spec

    # Python < 3.4 style API is not needed (3.8+)


def install_import_hook():
    if _TARGET in sys.modules:
        from .celery import on_worker_init
        sys.modules[_TARGET].worker_init.connect(on_worker_init, weak=False)
        return
    if not any(isinstance(f, _CeleryHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _CeleryHook())
