# Only what differs from Django's Russian formats: a day and month read "25 ноября" (genitive), not "25 Ноябрь".
MONTH_DAY_FORMAT = "j E"
