import sys

from renderer.worker import Worker

# The process that will run the chunks starts first: it gets ready (IPython) while this
# one imports the renderer and reads the document.
try:
    light_worker = Worker()
except OSError:
    light_worker = None
try:
    from renderer.cli import main

    code = main(light_worker=light_worker)
finally:
    if light_worker is not None:
        light_worker.__exit__(None, None, None)
sys.exit(code)
