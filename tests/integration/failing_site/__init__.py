"""The real site plus two views that always fail, so a server started by a test can show its 500 answers.

Selected with DJANGO_SETTINGS_MODULE=tests.integration.failing_site.settings; never part of the product.
"""
