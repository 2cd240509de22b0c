"""The draw page: draw a character, watch the network read it.

    server      the Flask app over a restored run (pip install -e ".[app]")
    static/     its HTML, JavaScript and CSS: nothing from the network
    browser     headless Chromium, for the page's test and the docs' screenshot
"""
