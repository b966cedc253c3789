"""GFPGAN face restoration: the Hugging Face Space's entry point (and the local app's).

    python app.py                      # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080 --share
    python app.py --model-path my_finetuned.pth

The page, its API and its server live in ``gfpgan_core/web``.
"""

from gfpgan_core.web.server import main

if __name__ == "__main__":
    main()
