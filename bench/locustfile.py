"""Locust's side of the benchmark: each user sends GET /ping as fast as it can (no wait).

FastHttpUser is Locust's fastest client (geventhttpclient), the fair choice for a throughput
comparison. Run by bench.py: locust -f bench/locustfile.py --headless -u 64 -r 64 -t 10s -H URL
"""

from locust import FastHttpUser, constant, task


class Ping(FastHttpUser):
    wait_time = constant(0)

    @task
    def ping(self):
        self.client.get("/ping")
