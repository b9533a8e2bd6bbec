"""一线回访: the satisfaction follow-up of completed cases and of service records, over SMS and by phone."""


def start(case):
    """Ask every appellant of the case whether they are satisfied (called by ``cases.actions`` inside
    the completing transaction: the SMS rows commit, or roll back, with the completion). Returns the
    follow-up requests, one per appellant (master first); empty when the case needs no follow-up or has
    nobody to ask."""
    from minsheng.followup.flow import start_case

    return start_case(case)
