# Read by the `flask` command in a checkout (python-dotenv). Variables already
# set in the environment win, so a server sets TRACKER_ENV=production itself.
FLASK_APP=wsgi
TRACKER_ENV=development
