"""Reports of a panel-index run: HTML, PDF and Excel, and the charts they hold."""
