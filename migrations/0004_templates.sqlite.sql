-- 0004_templates: the production templates of SHM's seed (data-model.md §6.1,
-- fixtures/shm/shm_data.sql): `forecast` (payment forecast e-mail) and
-- `user_password_reset` (new-password e-mail with its subject). The texts are
-- byte-for-byte SHM's; string literals use '' for quotes and real newlines,
-- which both engines read the same way (no E'' strings).

INSERT INTO templates (id, data, settings) VALUES
    ('forecast',
     'Уважаемый {{ user.full_name }}

Уведомляем Вас о сроках действия услуг:

{{ FOR item IN user.pays.forecast.items }}
- Услуга: {{ item.name }}
  Стоимость: {{ item.total }} руб.
  {{ IF item.expire }}
  Истекает: {{ item.expire }}
  {{ END }}
{{ END }}

{{ IF user.pays.forecast.dept }}
Погашение задолженности: {{ user.pays.forecast.dept }} руб.
{{ END }}

Итого к оплате: {{ user.pays.forecast.total }} руб.

Услуги, которые не будут оплачены до срока их истечения, будут приостановлены.

Подробную информацию по Вашим услугам Вы можете посмотреть в вашем личном кабинете: {{ config.api.url }}

Это письмо сформировано автоматически. Если оно попало к Вам по ошибке,
пожалуйста, сообщите об этом нам: {{ config.mail.from }}',
     NULL),
    ('user_password_reset',
     'Уважаемый клиент.

Ваш новый пароль: {{ user.set_new_passwd }}

Адрес кабинета: {{ config.cli.url }}',
     '{"subject":"SHM - Восстановление пароля"}');
