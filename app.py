"""Start the incseg web UI: ``python app.py [--storage DIR] [--host H] [--port P] [--auth user:pass]
[--clip-model NAME --clip-pretrained FILE] [--sam-checkpoint FILE --sam-model-type vit_b]`` (``--help``).

Binds 127.0.0.1:7860 by default (INCSEG_HOST, INCSEG_PORT, INCSEG_AUTH, INCSEG_STORAGE override).
"""
from incseg_app.ui.server import main

if __name__ == "__main__":
    main()
