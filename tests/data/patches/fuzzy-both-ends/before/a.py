    if x:
        y()
