# language: pt
Funcionalidade: Registro de auditoria
  As conversas com pacientes são dados de saúde. O Porfin registra quem leu ou mudou cada
  conversa, quando e de onde. Os registros formam uma corrente: cada um guarda o resumo
  (hash) do anterior, então um registro alterado ou apagado depois é descoberto na
  conferência (`porfin audit verify`).

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a secretária Ana trabalha na clínica
    E que a paciente Maria (+55 11 98765-4321) escreveu "Olá, quero marcar uma limpeza"

  Cenário: A mensagem da paciente não gera registro de auditoria
    Então o registro de auditoria tem só a criação da clínica e do canal
    E a conferência do registro de auditoria diz que ele está íntegro

  Cenário: Quem abre a conversa fica registrado, com o endereço de onde abriu
    Quando a secretária Ana abre a conversa de Maria do endereço 203.0.113.7
    Então o último registro de auditoria diz que Ana leu a conversa de Maria do endereço 203.0.113.7
    E a conferência do registro de auditoria diz que ele está íntegro

  Cenário: Quem muda a conversa fica registrado
    Quando a secretária Ana desliga a IA da conversa de Maria
    Então o último registro de auditoria diz que Ana alterou a conversa de Maria

  Cenário: Um registro alterado é descoberto
    Dado que a secretária Ana abriu a conversa de Maria do endereço 203.0.113.7
    Quando alguém troca o endereço do último registro de auditoria para 198.51.100.9
    Então a conferência do registro de auditoria aponta o registro 3 como alterado

  Cenário: Um registro apagado é descoberto
    Dado que a secretária Ana abriu a conversa de Maria do endereço 203.0.113.7
    E que a secretária Ana desliga a IA da conversa de Maria
    Quando alguém apaga o registro de auditoria 3
    Então a conferência do registro de auditoria aponta o registro 3 como ausente
