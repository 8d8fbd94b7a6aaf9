"""Infrastructure the domain reports into or stands on: the queue Redis, metrics, health."""
